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


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_only_the_settings_module_reads_the_environment():
    readers = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "winnow").rglob("*.py")
        if "os.environ" in p.read_text(encoding="utf-8") and p.name != "settings.py"
    )
    assert readers == [], f"os.environ outside winnow/settings.py: {readers}"


def test_asset_bodies_stay_thin():
    """An asset is a thin call into the engine plus metadata: no body longer than about 25 lines."""
    import ast

    long = []
    for path in sorted((REPO / "assets").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            names = {ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
            if names & {"dg.asset", "dg.multi_asset", "dg.asset_check"}:
                first = node.body[1] if isinstance(node.body[0], ast.Expr) and len(node.body) > 1 else node.body[0]
                length = node.end_lineno - first.lineno + 1
                if length > 30:  # "about 25", formatted
                    long.append(f"{path.name}:{node.name} ({length} lines)")
    assert long == [], long
