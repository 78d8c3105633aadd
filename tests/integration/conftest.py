"""Real-server fixture: one Label Studio per session, started by scripts/labelstudio.sh."""

from __future__ import annotations

import pytest

from tests.integration.ls_server import LSServer, get_server


@pytest.fixture()
def ls_server() -> LSServer:
    """The session's server (started once, about a minute; restarted if a test stopped it)."""
    return get_server()
