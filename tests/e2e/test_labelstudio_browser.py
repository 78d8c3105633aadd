"""An annotator logs in to the real Label Studio in headless Chromium and opens a task.

Chromium is driven through chromedriver's W3C WebDriver HTTP API with plain requests
(Debian's `chromium` + `chromium-driver`; nothing is downloaded). The screenshot is
saved as test-artifacts/labelstudio_task.png.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
import requests

from tests.integration.ls_server import free_port, get_server

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"]


class WebDriver:
    """The handful of W3C WebDriver commands this test needs."""

    def __init__(self, port: int, profile: str):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium") or "/usr/bin/chromium",
            "args": [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]}}}}
        r = requests.post(f"{self.base}/session", json=caps, timeout=60)
        r.raise_for_status()
        self.sid = r.json()["value"]["sessionId"]

    def cmd(self, method: str, path: str, body: dict | None = None):
        r = requests.request(method, f"{self.base}/session/{self.sid}{path}", json=body, timeout=60)
        value = r.json().get("value")
        if r.status_code >= 400:
            raise AssertionError(f"webdriver {method} {path}: {value}")
        return value

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_xpath(self, xpath: str) -> str:
        return self.cmd("POST", "/element", {"using": "xpath", "value": xpath})[ELEMENT]

    def click_xpath(self, xpath: str) -> None:
        self.cmd("POST", f"/element/{self.find_xpath(xpath)}/click", {})

    def type(self, css: str, text: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def js(self, script: str):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": []})

    def wait_text(self, *needles: str, timeout: float = 90) -> str:
        deadline, text = time.time() + timeout, ""
        while time.time() < deadline:
            text = self.js("return document.body ? document.body.innerText : ''") or ""
            if all(n in text for n in needles):
                return text
            time.sleep(1)
        raise AssertionError(f"page never showed {needles}; it shows:\n{text[:2000]}")

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return png

    def quit(self) -> None:
        requests.delete(f"{self.base}/session/{self.sid}", timeout=30)


@pytest.fixture()
def browser():
    driver_bin = shutil.which("chromedriver")
    assert driver_bin, "chromedriver is missing: scripts/setup.sh --test installs Debian's chromium-driver"
    port = free_port()
    proc = subprocess.Popen([driver_bin, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="winnow-chromium-")
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://127.0.0.1:{port}/status", timeout=2).json()["value"]["ready"]:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        wd = WebDriver(port, profile)
        yield wd
        wd.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


def test_annotator_logs_in_and_sees_a_task(tmp_path, browser):
    from winnow.annotation.accounts import ensure_annotator
    from winnow.annotation.labelstudio import LabelStudioClient
    from winnow.annotation.ledger import Ledger, ledger_path
    from winnow.annotation.push import push_sample
    from winnow.annotation.tasks import instructions_html, label_config

    server = get_server()
    client = LabelStudioClient(server.url, server.token)
    pid = client.ensure_project("Winnow browser review", label_config(), instructions_html())
    text = "Debian reference: apt-get update refreshes the package lists. Contact <EMAIL> for help."
    sample = pl.DataFrame([{
        "doc_id": "web:browser-1", "text": text, "partition": "2026-11-24", "source": "web", "sample_lang": "en",
        "quality_score": 0.62, "score_source": "heuristic", "stratum": "kept:web:en:q0.50-0.75",
        "inclusion_prob": 0.02, "sample_kind": "random", "overlap": False, "status": "kept"}])
    res = push_sample(client, pid, sample, Ledger(ledger_path(tmp_path, server.url, pid)))
    task_id = res.task_ids[0] if res.task_ids else client.doc_task_ids(pid, {"web:browser-1"})["web:browser-1"]
    client.close()
    email = "reviewer@winnow.test"
    password, _ = ensure_annotator(server.url, server.token, email, store=server.data / "annotators.env")

    browser.get(f"{server.url}/user/login/")
    browser.type("input[name=email]", email)
    browser.type("input[name=password]", password)
    browser.click("button[type=submit], input[type=submit]")
    browser.wait_text("Winnow browser review", timeout=60)  # the project list after login

    browser.get(f"{server.url}/projects/{pid}/data?task={task_id}")
    page = browser.wait_text("apt-get update refreshes", "source: web", "score: 0.62", "keep", "drop",
                             "boilerplate/navigation")
    assert "language: en" in page
    png = browser.screenshot(ARTIFACTS / "labelstudio_task.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    # the annotator ticks an issue tag and submits (keep and the rating come pre-filled from the score)
    browser.click_xpath("//label[contains(., 'near-duplicate')]")
    browser.click_xpath("//button[normalize-space(.)='Submit']")
    admin = LabelStudioClient(server.url, server.token)
    deadline, anns = time.time() + 30, []
    while time.time() < deadline and not anns:
        anns = admin.export_tasks(pid, [task_id])
        anns = anns[0]["annotations"] if anns else []
        time.sleep(0.5)
    admin.close()
    assert anns, "the submitted annotation never reached Label Studio"
    from winnow.annotation.parse import parse_result

    got = parse_result(anns[0]["result"])
    assert got["decision"] == "keep" and got["rating"] == 3 and got["tags"] == ["near-duplicate"]
    assert anns[0]["completed_by"] == next(u for u, e in LabelStudioClient(server.url, server.token).users().items()
                                           if e == email)
