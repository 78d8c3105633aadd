"""The engine and the contracts never import Dagster: they stay usable (and testable) on their own."""

import subprocess
import sys


def test_engine_and_schemas_import_without_dagster():
    code = (
        "import importlib, pkgutil, sys\n"
        "import schemas, winnow\n"
        "for pkg in (schemas, winnow):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
