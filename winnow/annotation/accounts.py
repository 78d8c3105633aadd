"""Annotator accounts on the local Label Studio, created the way a person signs up.

``python -m winnow.annotation.accounts EMAIL`` (what ``scripts/labelstudio.sh
add-annotator EMAIL`` runs) signs the annotator up through Label Studio's own signup
form with the organization's invite token, with a generated password kept in
``<labelstudio data>/annotators.env`` (mode 0600). The password is never printed.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

import httpx

from winnow.annotation.labelstudio import LabelStudioError, local_data_dir, read_env_file
from winnow.settings import load_settings


def _csrf(client: httpx.Client, path: str) -> str:
    r = client.get(path)
    r.raise_for_status()
    token = client.cookies.get("csrftoken")
    if not token:
        m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text)
        token = m.group(1) if m else ""
    return token


def _form_session(url: str, path: str, email: str, password: str, failure: str) -> httpx.Client:
    """Post Label Studio's e-mail/password form at ``path`` as a browser would; the logged-in session."""
    client = httpx.Client(base_url=url, follow_redirects=True, timeout=60)
    csrf = _csrf(client, path)
    r = client.post(
        path,
        data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{url}{path}", "X-CSRFToken": csrf},
    )
    me = client.get("/api/current-user/whoami")
    if me.status_code != 200 or me.json().get("email") != email:
        client.close()
        raise LabelStudioError(f"Label Studio at {url}: {failure} (HTTP {r.status_code})")
    return client


def login(url: str, email: str, password: str) -> httpx.Client:
    """A browser-like session logged in through /user/login/ (raises if refused)."""
    return _form_session(url, "/user/login/", email, password, f"login as {email} failed")


def signup(url: str, email: str, password: str, invite_token: str | None = None) -> httpx.Client:
    """Sign up through the web form (as a person would); returns the logged-in session."""
    path = "/user/signup/" + (f"?token={invite_token}" if invite_token else "")
    return _form_session(url, path, email, password, f"signing up {email} failed (is the e-mail taken?)")


def invite_token(url: str, admin_token: str) -> str | None:
    r = httpx.get(f"{url}/api/invite", headers={"Authorization": f"Token {admin_token}"}, timeout=30)
    if r.status_code != 200:
        return None
    m = re.search(r"token=([A-Za-z0-9_-]+)", r.json().get("invite_url", ""))
    return m.group(1) if m else None


def user_token(session: httpx.Client) -> str:
    """The logged-in user's own API token (legacy token auth)."""
    r = session.get("/api/current-user/token")
    r.raise_for_status()
    return r.json()["token"]


def ensure_annotator(
    url: str, admin_token: str, email: str, password: str | None = None, store: Path | None = None
) -> tuple[str, str]:
    """Create (or reuse) an annotator; returns (password, api token). Stored in ``store`` (0600)."""
    stored = read_env_file(store) if store and store.exists() else {}
    key = "PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", email).upper()
    password = password or stored.get(key) or secrets.token_urlsafe(12)
    try:
        session = login(url, email, password)
    except LabelStudioError:
        session = signup(url, email, password, invite_token(url, admin_token))
    try:
        token = user_token(session)
    finally:
        session.close()
    if store is not None and stored.get(key) != password:
        store.parent.mkdir(parents=True, exist_ok=True)
        old = umask = os.umask(0o077)
        try:
            with open(store, "a") as fh:
                fh.write(f"# {email}\n{key}={password}\n")
        finally:
            os.umask(old if umask is not None else 0o022)
        os.chmod(store, 0o600)
    return password, token


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m winnow.annotation.accounts EMAIL", file=sys.stderr)
        return 2
    email = argv[0]
    settings = load_settings()
    data = local_data_dir(settings.label_studio, settings.home)
    cred = read_env_file(data / "credentials.env")
    store = data / "annotators.env"
    ensure_annotator(cred["WINNOW_LS_URL"], cred["WINNOW_LS_TOKEN"], email, store=store)
    print(
        f"annotator {email} is ready: open {cred['WINNOW_LS_URL']} and log in with that e-mail; "
        f"the password is in {store}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
