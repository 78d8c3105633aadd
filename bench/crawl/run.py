"""Crawl benchmark: WARC to text, Winnow against datatrove on the same files, in one run.

datatrove's FineWeb front end, ``WarcReader -> URLFilter -> Trafilatura -> JsonlWriter``, and
Winnow's ingest of a ``warc`` source (framing, fastwarc, URL rules, resiliparse extraction,
the night-level domain cap and site-boilerplate removal, Parquet parts) read the same
``.warc.gz`` files built by ``scripts/corpus/build_crawl.py --bench`` from real pages (at
least 200 MB of WARC, uncompressed). Both use both cores (datatrove: ``LocalPipelineExecutor``
with 2 workers over the files; Winnow: ``work.ingest_workers = 2``) and the same URL lists
(datatrove's integrated blocklists and banned words, given to Winnow as its blocklist files).
Each tool runs in its own process tree: wall time, CPU seconds of the tree and its peak RSS.

    python -m bench.crawl.run [--mb 200] [--dir .winnow/bench/crawl]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.harness import ratio, run_measured, summary_markdown, write_results

REPO = Path(__file__).resolve().parents[2]


def _corpus(folder: Path, mb: float) -> dict:
    marker = folder / "corpus.json"
    if marker.exists() and json.loads(marker.read_text()).get("mb") == mb:
        return json.loads(marker.read_text())
    sys.path.insert(0, str(REPO))
    from scripts.corpus.build_crawl import build_bench

    info = build_bench(folder, mb) | {"mb": mb}
    marker.write_text(json.dumps(info))
    return info


def _datatrove_lists(folder: Path) -> dict:
    """datatrove's integrated URL lists, extracted once, as files Winnow's recipe can name."""
    from datatrove.pipeline.filters.url_filter import URLFilter

    f = URLFilter()
    f.download_data()
    out = folder / "lists"
    out.mkdir(exist_ok=True)
    (out / "domains.txt").write_text("\n".join(sorted(f.block_listed_domains)) + "\n")
    (out / "urls.txt").write_text("\n".join(sorted(u if "/" in u else u + "/" for u in f.block_listed_url)) + "\n")
    return {"blocklists": [str(out / "domains.txt"), str(out / "urls.txt")], "banned_words": sorted(f.banned_words)}


def _child(tool: str, folder: str, out: str) -> None:
    t0 = time.perf_counter()
    folder_p, out_p = Path(folder), Path(out)
    if tool == "winnow":
        from schemas.recipe import Recipe
        from winnow.ingest import ingest_partition

        lists = json.loads((folder_p / "lists.json").read_text())
        crawl = {"url_blocklists": lists["blocklists"], "banned_url_words": lists["banned_words"]}
        src = {"name": "crawl", "path": str(folder_p / "*.warc.gz"), "format": "warc", "crawl": crawl}
        recipe = Recipe.model_validate({"name": "bench", "version": 1, "sources": [src]})
        res = ingest_partition(recipe, folder_p, "2026-11-24", out_p / "work", workers=2)
        res.documents.sink_parquet(out_p / "docs.parquet")
        import polars as pl

        stats = pl.scan_parquet(out_p / "docs.parquet").select(n=pl.len(), c=pl.col("text").str.len_chars().sum())
        n, chars = (int(v) for v in stats.collect().row(0))
        q = res.quarantine.select(pl.len()).collect().item()
    else:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.extractors import Trafilatura
        from datatrove.pipeline.filters import URLFilter
        from datatrove.pipeline.readers import WarcReader
        from datatrove.pipeline.writers import JsonlWriter

        files = sorted(folder_p.glob("*.warc.gz"))
        LocalPipelineExecutor(
            pipeline=[
                WarcReader(str(folder_p), glob_pattern="*.warc.gz"),
                URLFilter(),
                Trafilatura(favour_precision=True),
                JsonlWriter(str(out_p / "dt"), compression=None),
            ],
            tasks=len(files),
            workers=2,
            logging_dir=str(out_p / "dt-logs"),
        ).run()
        n = chars = 0
        for f in (out_p / "dt").glob("*.jsonl"):
            for line in f.open(encoding="utf-8"):
                n += 1
                chars += len(json.loads(line)["text"])
        q = None
    print(json.dumps({"docs": n, "chars": chars, "quarantined": q, "inner_s": round(time.perf_counter() - t0, 3)}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--dir", type=Path, default=REPO / ".winnow" / "bench" / "crawl")
    ap.add_argument("--child", nargs=3, metavar=("TOOL", "DIR", "OUT"))
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    import shutil
    import tempfile

    info = _corpus(args.dir, args.mb)
    (args.dir / "lists.json").write_text(json.dumps(_datatrove_lists(args.dir)))
    warc_mb = info["warc_bytes"] / 1e6
    records = info["pages"]
    summary: dict = {
        "warc_files": info["files"],
        "warc_mb_uncompressed": round(warc_mb, 1),
        "warc_mb_on_disk": round(sum(f.stat().st_size for f in args.dir.glob("*.warc.gz")) / 1e6, 1),
        "pages": records,
    }
    for tool in ("datatrove", "winnow"):
        out = Path(tempfile.mkdtemp(prefix=f"bench-crawl-{tool}-"))
        m = run_measured(
            [sys.executable, "-m", "bench.crawl.run", "--child", tool, str(args.dir), str(out)], capture=True
        )
        got = json.loads(m.pop("stdout").strip().splitlines()[-1])
        summary[tool] = {
            **m,
            "documents": got["docs"],
            "pages_per_s": round(records / m["wall_s"], 1),
            "pages_per_cpu_s": round(records / m["cpu_s"], 1),
            "warc_mb_per_s": round(warc_mb / m["wall_s"], 2),
            "text_mb": round(got["chars"] / 1e6, 1),
        }
        shutil.rmtree(out, ignore_errors=True)
    w, d = summary["winnow"], summary["datatrove"]
    summary["pages_per_cpu_s_ratio"] = ratio(w["pages_per_cpu_s"], d["pages_per_cpu_s"])
    summary["wall_speedup"] = ratio(d["wall_s"], w["wall_s"])
    summary["peak_rss_mb_winnow"] = w["peak_rss_mb"]
    md = (
        "### WARC to text: Winnow vs datatrove (`WarcReader → URLFilter → Trafilatura → JsonlWriter`)\n\n"
        f"{summary['pages']:,} pages in {summary['warc_files']} `.warc.gz` files, "
        f"{summary['warc_mb_uncompressed']:,} MB of WARC ({summary['warc_mb_on_disk']} MB on disk); "
        "both tools on 2 cores, same URL lists.\n\n" + summary_markdown(summary)
    )
    print(md)
    write_results("crawl", summary, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
