"""Helpers for end-to-end tests that run Dagster's own command-line tools."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli_env(home: Path) -> dict:
    (home / "dagster_home").mkdir(parents=True)
    (home / "dagster_home" / "dagster.yaml").write_text((REPO / "pipelines" / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINNOW_", "LABEL_STUDIO"))}
    env.update(WINNOW_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"), POLARS_MAX_THREADS="2")
    return env


@pytest.fixture()
def cli_env(tmp_path) -> dict:
    """Environment for a CLI run with its own WINNOW_HOME / DAGSTER_HOME, Label Studio not configured."""
    return _cli_env(tmp_path / "home")


@pytest.fixture()
def ui_env() -> dict:
    """Like ``cli_env``, with the data directory where a user's would be (``<repo>/.winnow/...``), since
    the README's screenshots show its paths."""
    import shutil

    home = REPO / ".winnow" / "ui-screenshots"
    shutil.rmtree(home, ignore_errors=True)
    return _cli_env(home)
