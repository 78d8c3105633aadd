"""The whole night on a large corpus: the real ``nightly_curation`` job against datatrove's four filters alone.

One night's input is both benchmark corpora, one after the other (default ``--corpus both``: the
short-document corpus, ``scripts/corpus/build_short_corpus.py``, and the long-document one,
``scripts/corpus/build_bench_corpus.py``; over 500 MB of real text, short documents and long);
``--copies 2`` lists it twice, the second time under new ids: twice the size, the second half exact
duplicates, which the dedup index must hold and remove. The job runs as in production (``bench.nights``: every step and check, Label Studio off,
the multiprocess executor, ``work.max_concurrent_steps`` 2). Measured: wall time, CPU time and peak
RSS of the whole process tree, and each step's own time (from Dagster's step statistics).

In the same run, datatrove's Gopher repetition, Gopher quality, C4 and FineWeb filters alone
run over the same text (``bench.filters.run``'s datatrove pipeline, two workers). With
``--reference-mb N`` datatrove runs on the first N MB only and its time is scaled by bytes (the
result says so); the default runs it on everything.

Targets (issue 17): the Winnow night at most a fifth of datatrove's filters alone; peak RSS
at most 2 GB, also at twice the size.

    python -m bench.whole_night.run [--corpus both|short|long] [--copies 1] [--reference-mb N]

Writes ``bench/results/whole_night.json`` and ``.md`` (``whole_night_x2`` with ``--copies 2``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import polars as pl

from bench.filters.run import CORPORA, CORPUS_SCRIPTS
from bench.filters.run import measure as measure_filters
from bench.filters.run import prepare as prepare_filter_shards
from bench.harness import REPO, ratio, write_results
from bench.nights import deployment, jsonl_recipe, manifest, run_night

WORK = REPO / ".winnow" / "bench" / "whole_night"
NIGHT = "2026-11-24"


def night_input(corpora: list[Path], data: Path, copies: int, limit_docs: int | None = None) -> dict:
    """The night's ``docs.jsonl``: the corpora one after the other, ``copies`` times (later copies under new
    ids); ``limit_docs`` takes only that many of each corpus (a quick run)."""
    target = data / NIGHT / "docs.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for k in range(copies):
            for corpus in corpora:
                if limit_docs is not None:
                    pl.scan_ndjson(corpus).head(limit_docs).collect().with_columns(
                        id=pl.lit(f"copy{k}-" if k else "") + pl.col("id")
                    ).write_ndjson(out)
                    continue
                if not k:
                    with open(corpus, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 24)
                    continue
                frame = pl.read_ndjson(corpus).with_columns(id=pl.lit(f"copy{k}-") + pl.col("id"))
                frame.write_ndjson(out)
                del frame
    row = pl.scan_ndjson(target).select(pl.len(), pl.col("text").str.len_bytes().sum()).collect().row(0)
    return {"docs": int(row[0]), "text_bytes": int(row[1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=[*CORPORA, "both"], default="both")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--reference-mb", type=float, default=None, help="datatrove on the first N MB only, scaled")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument(
        "--limit-docs", type=int, default=None, help="only the first N documents of each corpus (a smoke run)"
    )
    ap.add_argument("--render", action="store_true", help="rewrite the .md from the committed .json (no run)")
    args = ap.parse_args(argv)
    if args.render:
        return render(args.copies)
    names = list(CORPORA) if args.corpus == "both" else [args.corpus]
    for name in names:
        if not CORPORA[name].exists():
            raise SystemExit(f"{CORPORA[name]}: corpus not found; build it with {CORPUS_SCRIPTS[name]}")
    work = WORK / f"x{args.copies}"
    shutil.rmtree(work, ignore_errors=True)
    size = night_input([CORPORA[n] for n in names], work / "data", args.copies, args.limit_docs)
    corpus = work / "data" / NIGHT / "docs.jsonl"
    recipe = jsonl_recipe(work, work / "data", "winnow-bench-night", publish={"shard_target_mb": 64})
    env = deployment(work, "multiprocess", recipe, [NIGHT])
    print(f"night: {size['docs']:,} documents, {size['text_bytes'] / 1e6:,.1f} MB of text", flush=True)
    night = run_night(env, NIGHT, interval=0.5)
    steps = dict(sorted(night["steps"].items(), key=lambda kv: -kv[1]))
    release = manifest(work, NIGHT)
    result = {
        "corpus": args.corpus,
        "copies": args.copies,
        "input": size,
        "winnow_night": {k: night[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "peak_rss_single_mb")},
        "steps": {k: round(v, 1) for k, v in steps.items()},
        "step_peak_rss_mb": night["step_rss_mb"],
        "curated_release_share": ratio(steps.get("curated_release", 0.0), night["wall_s"]),
        "release_docs": sum(s["rows"] for s in release["shards"]),
    }
    print(json.dumps(result, indent=1), flush=True)
    if not night["step_rss_mb"]:
        print(
            "(no step process named its step: per-step RSS unknown)", [p["cmdline"][:300] for p in night["processes"]]
        )
    if not args.skip_reference:
        ref_work = work / "datatrove"
        info = prepare_filter_shards(corpus, ref_work, 8, args.reference_mb)
        out = ref_work / "run"
        out.mkdir(parents=True, exist_ok=True)
        print(f"datatrove filters on {info['text_bytes'] / 1e6:,.1f} MB ...", flush=True)
        dt = measure_filters("datatrove", Path(info["dir"]), out, 2)
        scale = size["text_bytes"] / info["text_bytes"]
        result["datatrove_filters"] = {
            "measured_on_mb": round(info["text_bytes"] / 1e6, 1),
            "wall_s": dt["wall_s"],
            "cpu_s": dt["cpu_s"],
            "peak_rss_tree_mb": dt["peak_rss_tree_mb"],
            "scaled_by": round(scale, 3),
            "wall_s_on_night": round(dt["wall_s"] * scale, 1),
            "cpu_s_on_night": round(dt["cpu_s"] * scale, 1),
        }
        ref = result["datatrove_filters"]
        result["datatrove_filters_over_winnow_night"] = {
            "wall": ratio(ref["wall_s_on_night"], night["wall_s"]),
            "cpu": ratio(ref["cpu_s_on_night"], night["cpu_s"]),
        }
        shutil.rmtree(ref_work, ignore_errors=True)
    if args.limit_docs is not None:
        print("a smoke run (--limit-docs): no results written")
        return 0
    name = "whole_night" if args.copies == 1 else f"whole_night_x{args.copies}"
    cmd = f"python -m bench.whole_night.run --corpus {args.corpus} --copies {args.copies}" + (
        f" --reference-mb {args.reference_mb:g}" if args.reference_mb else ""
    )
    md = write_results(name, result, _markdown(result), cmd)
    print(md.read_text())
    return 0


def render(copies: int) -> int:
    """The result's markdown again from its JSON (after the table's layout changed), same stamp and command."""
    name = "whole_night" if copies == 1 else f"whole_night_x{copies}"
    saved = json.loads((REPO / "bench" / "results" / f"{name}.json").read_text())
    saved.pop("measured_at")
    md = REPO / "bench" / "results" / f"{name}.md"
    footer = md.read_text().rsplit("\n_Measured", 1)[1]
    md.write_text(_markdown(saved) + "\n\n_Measured" + footer)
    print(md.read_text())
    return 0


def _markdown(r: dict) -> str:
    n = r["winnow_night"]
    lines = [
        f"One night of {r['input']['docs']:,} documents, {r['input']['text_bytes'] / 1e6:,.1f} MB of text "
        f"(corpus `{r['corpus']}`" + (f", {r['copies']} copies under new ids" if r["copies"] > 1 else "") + "), "
        "through the real `nightly_curation` job (every step and check, multiprocess executor, Label Studio off).",
        "",
        "| what | wall s | CPU s (tree) | peak RSS MB (tree) |",
        "|---|---|---|---|",
        f"| Winnow, the whole night | {n['wall_s']:,.0f} | {n['cpu_s']:,.0f} | {n['peak_rss_mb']:,.0f} |",
    ]
    if "datatrove_filters" in r:
        d = r["datatrove_filters"]
        scaled = d["scaled_by"] > 1.001
        lines.append(
            f"| datatrove, four filters alone{' (scaled from ' + str(d['measured_on_mb']) + ' MB)' if scaled else ''} "
            f"| {d['wall_s_on_night']:,.0f} | {d['cpu_s_on_night']:,.0f} | {d['peak_rss_tree_mb']:,.0f} |"
        )
        x = r["datatrove_filters_over_winnow_night"]
        lines += [
            "",
            f"datatrove's filters alone take **{x['wall']}x** the wall time and **{x['cpu']}x** the CPU time of "
            "Winnow's whole night (target: at least 5x)."
            + (
                f" datatrove ran on the first {d['measured_on_mb']} MB ({d['wall_s']:,.0f} s wall, {d['cpu_s']:,.0f} "
                f"CPU-s), scaled by bytes to the night's text."
                if scaled
                else ""
            ),
        ]
    top = list(r["steps"].items())[:6]
    lines += [
        "",
        f"Peak RSS of the tree {n['peak_rss_mb']:,.0f} MB (target at most 2,048 MB); `curated_release` "
        f"{r['steps'].get('curated_release', 0):,.0f} s, {100 * (r['curated_release_share'] or 0):.1f}% of the night "
        "(target at most 10%). Slowest steps: " + ", ".join(f"`{k}` {v:,.0f} s" for k, v in top) + ".",
    ]
    peaks = list(r.get("step_peak_rss_mb", {}).items())[:4]
    if peaks:
        lines += [
            "",
            "Largest step processes (peak RSS, matched to steps by start time): "
            + ", ".join(f"`{k}` {v:,.0f} MB" for k, v in peaks)
            + ".",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
