"""One real Label Studio per test process, started and stopped by scripts/labelstudio.sh.

Both tests/integration and tests/e2e use ``get_server()``; it starts the server once
(about a minute) in a throwaway WINNOW_HOME on a free port, and stops it at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "labelstudio.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LSServer:
    url: str
    token: str = field(repr=False)
    home: Path
    env: dict = field(repr=False)
    startup_s: float
    stopped: bool = False

    @property
    def data(self) -> Path:
        return self.home / "labelstudio"

    def script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), *args], env=self.env, check=check, capture_output=True, text=True, timeout=900
        )

    def stop(self) -> None:
        if not self.stopped:
            self.script("stop", check=False)
            self.stopped = True


_SERVER: LSServer | None = None


def get_server() -> LSServer:
    """The session's server; started on first use, restarted if a test stopped it."""
    global _SERVER
    if _SERVER is not None:
        if _SERVER.stopped:
            _SERVER.script("start")
            _SERVER.stopped = False
        return _SERVER
    home = Path(tempfile.mkdtemp(prefix="winnow-ls-test-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINNOW_LS_", "WINNOW_LABEL_STUDIO"))}
    env.update(WINNOW_HOME=str(home), WINNOW_LS_PORT=str(free_port()))
    t0 = time.perf_counter()
    proc = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/labelstudio.sh start failed:\n{proc.stdout}\n{proc.stderr}")
    startup = time.perf_counter() - t0
    cred = dict(
        line.split("=", 1)
        for line in (home / "labelstudio" / "credentials.env").read_text().splitlines()
        if "=" in line
    )
    _SERVER = LSServer(url=cred["WINNOW_LS_URL"], token=cred["WINNOW_LS_TOKEN"], home=home, env=env, startup_s=startup)

    def _cleanup(server: LSServer = _SERVER) -> None:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)

    atexit.register(_cleanup)
    return _SERVER


#: operational Label Studio settings for tests: small batches, quick retries, no pull margin
LS_OPS = {"import_batch_size": 10, "retries": 1, "backoff_s": 0.2, "pull_safety_margin_s": 0}


def server_settings(server, **ops) -> dict:
    """The ``label_studio`` settings that point at ``server``."""
    return {"url": server.url, "token": server.token, **LS_OPS, **ops}


def write_recipe(path: Path, title: str, **sampling) -> Path:
    """A tiny recipe whose Label Studio project title isolates the test."""
    s = {
        "fraction": 0.02,
        "rejected_fraction": 0.01,
        "overlap_fraction": 0.25,
        "nightly_budget": 400,
        "active_learning_share": 0.1,
        **sampling,
    }
    body = (
        "name: it\nversion: 1\nseed: 5\n"
        "sources:\n  - {name: web, path: 'in/{partition}/*.jsonl', format: jsonl}\n"
        f"sampling: {s!r}\n".replace("'", '"')
        + f"annotation: {{project_title: '{title}', min_overlap_items: 3, min_alpha: 0.6}}\n"
    )
    path.write_text(body)
    return path
