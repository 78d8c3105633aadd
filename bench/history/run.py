"""Cost flat with history: ten consecutive sample-sized nights on one deployment.

The dedup index and the annotation ledger persist and grow night after night; a night must not
cost more because history is longer. This runs ``--nights`` (10) real ``nightly_curation`` nights
(``bench.nights``: every step and check, in-process executor as for the sample) on one deployment,
with its own real Label Studio (``scripts/labelstudio.sh`` on ``--port``), so each night's sample
is sent and the annotation ledger grows as in production. Each night is ``--docs`` (4,500) new documents from the short-document corpus
(``scripts/corpus/build_short_corpus.py``; the long one if it is missing), plus 5% re-crawled
texts of earlier nights, which the persisted index must catch. Each night's wall time, process-tree
CPU time and peak RSS are measured; the figure is night 10 against night 1 (target at most 1.2x).

    python -m bench.history.run [--nights 10] [--docs 4500]

Writes ``bench/results/history.json`` and ``.md`` (docs/benchmarks.md includes them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from statistics import median

import polars as pl

from bench.harness import REPO, ratio, write_results
from bench.nights import deployment, jsonl_recipe, label_studio, night_days, run_night, write_night

WORK = REPO / ".winnow" / "bench" / "history"
CORPORA = (REPO / ".winnow" / "bench" / "short.jsonl", REPO / ".winnow" / "bench" / "corpus.jsonl")
#: nights in the past: a daily partition exists only once its day is over
FIRST_NIGHT = "2026-11-10"
RECRAWL_SHARE = 0.05


def prepare_nights(corpus: Path, data: Path, nights: list[str], per_night: int) -> list[int]:
    """Each night's input: new documents, then re-crawls (same text, new id) of earlier nights."""
    docs = pl.scan_ndjson(corpus).head(per_night * len(nights)).collect()
    sizes = []
    for k, night in enumerate(nights):
        new = docs.slice(k * per_night, per_night)
        if k:
            again = docs.slice(0, k * per_night).sample(n=int(per_night * RECRAWL_SHARE), seed=k)
            again = again.with_columns(id=pl.lit(f"recrawl{k}-") + pl.col("id"))
            new = pl.concat([new, again])
        write_night(new, data, night)
        sizes.append(new.height)
    return sizes


def history_size(home: Path) -> dict:
    """What the deployment remembers: ledger rows (documents sent to Label Studio), dedup index size."""
    ledgers = sorted((home / "annotation" / "ledger").glob("*.parquet"))
    sent = pl.scan_parquet(ledgers).select(pl.len()).collect().item() if ledgers else 0
    index = sum(f.stat().st_size for f in (home / "dedup_index").rglob("*") if f.is_file())
    return {"ledger_rows": int(sent), "dedup_index_mb": round(index / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nights", type=int, default=10)
    ap.add_argument("--docs", type=int, default=4500, help="new documents per night")
    ap.add_argument("--port", type=int, default=8095, help="the bench's own Label Studio (scripts/labelstudio.sh)")
    ap.add_argument("--no-label-studio", action="store_true", help="nights without Label Studio (no ledger)")
    args = ap.parse_args(argv)
    corpus = next((c for c in CORPORA if c.exists()), None)
    if corpus is None:
        raise SystemExit("no benchmark corpus: build one with scripts/corpus/build_short_corpus.py")
    shutil.rmtree(WORK, ignore_errors=True)
    nights = night_days(FIRST_NIGHT, args.nights)
    sizes = prepare_nights(corpus, WORK / "data", nights, args.docs)
    recipe = jsonl_recipe(WORK, WORK / "data", "winnow-history")
    port = None if args.no_label_studio else args.port
    env = deployment(WORK, "in_process", recipe, nights, label_studio_port=port)
    if port is not None:
        label_studio(env, "start")
    rows = []
    try:
        for night, n in zip(nights, sizes, strict=True):
            r = run_night(env, night)
            rows.append(
                {
                    "night": night,
                    "docs": n,
                    "wall_s": r["wall_s"],
                    "cpu_s": r["cpu_s"],
                    "peak_rss_mb": r["peak_rss_mb"],
                    "steps_own_work_s": round(sum(r["steps"].values()), 2),
                    **history_size(WORK),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if port is not None:
            label_studio(env, "stop")
    first, last = rows[0], rows[-1]
    summary = {
        "label_studio": port is not None,
        "corpus": str(corpus.relative_to(REPO)),
        "nights": rows,
        "last_over_first": {k: ratio(last[k], first[k]) for k in ("wall_s", "cpu_s", "peak_rss_mb")},
        # one night's time moves by 10% on a busy machine: the last three against the first three too
        "last3_over_first3_median": {
            k: ratio(median(r[k] for r in rows[-3:]), median(r[k] for r in rows[:3]))
            for k in ("wall_s", "cpu_s", "peak_rss_mb")
        },
    }
    write_results("history", summary, _markdown(summary), "python -m bench.history.run")
    print((REPO / "bench" / "results" / "history.md").read_text())
    return 0


def _markdown(summary: dict) -> str:
    rows = summary["nights"]
    lines = [
        f"{len(rows)} consecutive nights on one deployment (persisted dedup index and annotation ledger), "
        f"each of new documents from `{summary['corpus']}` plus {RECRAWL_SHARE:.0%} re-crawled texts of earlier "
        "nights; the real `nightly_curation` job, in-process executor, "
        + ("pushing each night's sample to a real Label Studio." if summary["label_studio"] else "Label Studio off."),
        "",
        "| night | documents | wall s | CPU s (tree) | peak RSS MB | steps' own work s | ledger rows | dedup index MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"| {i} ({r['night']}) | {r['docs']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:,.0f} "
            f"| {r['steps_own_work_s']:.1f} | {r['ledger_rows']:,} | {r['dedup_index_mb']} |"
        )
    lo, m3 = summary["last_over_first"], summary["last3_over_first3_median"]
    lines += [
        "",
        f"Night {len(rows)} against night 1: **{lo['wall_s']}x** wall, **{lo['cpu_s']}x** CPU, "
        f"**{lo['peak_rss_mb']}x** peak RSS (target: at most 1.2x). The median of the last three nights against "
        f"the first three: {m3['wall_s']}x wall, {m3['cpu_s']}x CPU, {m3['peak_rss_mb']}x peak RSS.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
