#!/usr/bin/env bash
# Static checks, run by `make test` before the suite: lint, format, types, the layering
# contracts (pyproject.toml [tool.importlinter]) and the docs site in strict mode.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "check: ruff lint";          $bin/ruff check .
echo "check: ruff format";        $bin/ruff format --check .
echo "check: mypy";               $bin/mypy
echo "check: import contracts";   $bin/lint-imports
echo "check: docs (mkdocs strict)"
$bin/python -m scripts.docs_reference --check
NO_MKDOCS_2_WARNING=1 $bin/mkdocs build --strict --quiet --site-dir .winnow/site
echo "check: all passed"
