"""Headless Chromium for the UI tests, driven through chromedriver's W3C WebDriver HTTP API.

Plain requests against Debian's `chromium` + `chromium-driver` (``scripts/setup.sh --test``
installs them); nothing is downloaded. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


class WebDriver:
    """The handful of W3C WebDriver commands this test needs."""

    def __init__(self, port: int, profile: str):
        self.base = f"http://127.0.0.1:{port}"
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": shutil.which("chromium") or "/usr/bin/chromium",
                        "args": [*CHROMIUM_ARGS, f"--user-data-dir={profile}"],
                    },
                }
            }
        }
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

    def wait_gone(self, *needles: str, timeout: float = 90) -> str:
        """Wait until none of ``needles`` is on the page (a spinner's text, say)."""
        deadline, text = time.time() + timeout, ""
        while time.time() < deadline:
            text = self.js("return document.body ? document.body.innerText : ''") or ""
            if not any(n in text for n in needles):
                return text
            time.sleep(1)
        raise AssertionError(f"page still shows one of {needles} after {timeout} s:\n{text[:2000]}")

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return png

    def quit(self) -> None:
        requests.delete(f"{self.base}/session/{self.sid}", timeout=30)


@pytest.fixture()
def browser():
    """A fresh headless Chromium session (own profile), quit afterwards."""
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
