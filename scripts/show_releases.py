"""Print every release with its manifest check, for the demo's last words."""

from __future__ import annotations

import json
import sys

from winnow.publish.release import verify_release
from winnow.settings import load_settings


def main() -> int:
    root = load_settings().releases_root
    manifests = sorted(root.glob("*/*/manifest.json"))
    if not manifests:
        print(f"no release under {root}")
        return 1
    bad = 0
    for m in manifests:
        problems = verify_release(m.parent)
        manifest = json.loads(m.read_text())
        rows = manifest["totals"]["rows"]
        status = "manifest matches files" if not problems else "PROBLEMS: " + "; ".join(problems)
        print(f"release {m.parent}  rows={rows}  shards={len(manifest['shards'])}  {status}")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
