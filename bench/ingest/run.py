"""Ingest benchmark: wall time and peak RSS to ingest a ~1 GB JSONL file.

Winnow's streaming ingest (validation + quarantine + canonical Parquet) is compared,
in the same run and on the same file, with two references that only convert:
polars' ``scan_ndjson().sink_parquet()`` and datatrove's ``JsonlReader -> ParquetWriter``.
Each runs in its own subprocess so its peak RSS is its own.

    python -m bench.ingest.run [--size-gb 1.0] [--file .winnow/bench/ingest-1g.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import time
from pathlib import Path

from bench.harness import run_measured, write_results

REPO = Path(__file__).resolve().parents[2]


def make_file(path: Path, size_gb: float, seed: int = 0) -> None:
    """A JSONL file of about ``size_gb`` GB, from the bench corpus if present, else the sample."""
    if path.exists() and path.stat().st_size >= size_gb * 1e9 * 0.98:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    src = REPO / ".winnow" / "bench" / "corpus.jsonl"
    texts: list[str] = []
    if src.exists():
        with open(src, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                texts.append(json.loads(line)["text"])
                if i >= 50_000:
                    break
    rng = random.Random(seed)
    if not texts:  # no bench corpus built: use the bundled sample's texts
        import polars as pl

        texts = pl.read_parquet(REPO / "data" / "sample" / "2026-11-24" / "docs.parquet")["text"].to_list()
    target = int(size_gb * 1e9)
    written = 0
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            text = rng.choice(texts)
            line = (
                json.dumps(
                    {
                        "id": f"d{n}",
                        "text": text,
                        "url": f"https://example.org/{n}",
                        "fetched_at": "2026-11-24T00:00:00Z",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            out.write(line)
            written += len(line.encode())
            n += 1


def _child(tool: str, file: str, out: str) -> None:
    t0 = time.perf_counter()
    if tool == "winnow":
        import tempfile

        from schemas.recipe import Recipe
        from winnow.ingest import ingest_partition
        from winnow.storage import sink_parquet

        recipe = Recipe.model_validate(
            {
                "name": "bench",
                "version": 1,
                "sources": [{"name": "b", "path": file, "format": "jsonl", "timestamp_field": "fetched_at"}],
            }
        )
        with tempfile.TemporaryDirectory(dir=out) as work:
            res = ingest_partition(recipe, Path(file).parent, "2026-11-24", Path(work))
            # the pipeline's own sink (the IO manager's): small row groups keep memory bounded
            sink_parquet(res.documents, Path(out) / "winnow.parquet")
            sink_parquet(res.quarantine, Path(out) / "winnow-q.parquet")
    elif tool == "polars":
        import polars as pl

        pl.scan_ndjson(file).sink_parquet(Path(out) / "polars.parquet", compression="zstd")
    elif tool == "datatrove":
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.writers import ParquetWriter

        LocalPipelineExecutor(
            pipeline=[
                JsonlReader(str(Path(file).parent), glob_pattern=Path(file).name, compression=None),
                ParquetWriter(str(Path(out) / "datatrove")),
            ],
            tasks=1,
            workers=1,
            logging_dir=str(Path(out) / "datatrove-logs"),
        ).run()
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mib": rss / 1024}))


def run_tool(tool: str, file: Path, out: Path) -> dict:
    # a clean output folder per run: datatrove skips tasks its logging dir marks as done
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "bench.ingest.run", "--child", tool, "--file", str(file), "--out", str(out)]
    m = run_measured(cmd, capture=True)
    child = json.loads(m["stdout"].strip().splitlines()[-1])  # the child's own peak RSS
    return {"tool": tool, "wall_s": m["wall_s"], "cpu_s": m["cpu_s"], "peak_rss_mib": child["peak_rss_mib"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--file", default=str(REPO / ".winnow" / "bench" / "ingest-1g.jsonl"))
    ap.add_argument("--out", default=str(REPO / ".winnow" / "bench" / "ingest-out"))
    ap.add_argument("--tools", default="winnow,polars,datatrove")
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.file, a.out)
        return
    file = Path(a.file)
    make_file(file, a.size_gb)
    size_mb = file.stat().st_size / 1e6
    print(f"input: {file} ({size_mb:,.0f} MB)")
    results = []
    for tool in a.tools.split(","):
        r = run_tool(tool, file, Path(a.out))
        r["mb_per_s"] = size_mb / r["wall_s"]
        results.append(r)
    print(f"{'tool':<10} {'wall s':>8} {'MB/s':>8} {'peak RSS MiB':>13}")
    for r in results:
        print(f"{r['tool']:<10} {r['wall_s']:>8.1f} {r['mb_per_s']:>8.1f} {r['peak_rss_mib']:>13.0f}")
    base = results[0]
    for r in results[1:]:
        print(f"ratio winnow/{r['tool']} wall time: {base['wall_s'] / r['wall_s']:.2f}x")
    table = ["| tool | wall s | CPU s | MB/s | peak RSS MiB |", "|---|---|---|---|---|"]
    table += [
        f"| {r['tool']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['mb_per_s']:.1f} | {r['peak_rss_mib']:.0f} |"
        for r in results
    ]
    write_results(
        "ingest",
        {"input_mb": size_mb, "results": results},
        f"Input: {size_mb:,.0f} MB of JSONL.\n\n" + "\n".join(table),
    )


if __name__ == "__main__":
    main()
