"""Copy the sample night's dataset card and its charts into docs/ (after `make demo-labels`).

    python -m scripts.sample_card [NIGHT]     (default 2026-11-24)

The card in docs/publishing-sample-card.md and the README's funnel and compute charts are
this release's own files, so they show what the current code publishes.
"""

from __future__ import annotations

import shutil
import sys

from winnow.settings import load_settings

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    night = argv[0] if argv else "2026-11-24"
    releases = load_settings().releases_root / "winnow-sample"
    found = sorted(releases.glob(f"{night}-v*"))
    if not found:
        print(f"no release of {night} under {releases}: run `make demo-labels` first", file=sys.stderr)
        return 2
    release = found[-1]
    images = REPO / "docs" / "images"
    shutil.copy2(release / "funnel.png", images / "sample_funnel.png")
    shutil.copy2(release / "compute_report.png", images / "sample_compute_report.png")
    card = (release / "README.md").read_text(encoding="utf-8")
    card = card.replace("](funnel.png)", "](images/sample_funnel.png)")
    card = card.replace("](compute_report.png)", "](images/sample_compute_report.png)")
    (REPO / "docs" / "publishing-sample-card.md").write_text(card, encoding="utf-8")
    print(f"copied the card and charts of {release}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
