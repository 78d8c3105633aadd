"""Publish benchmark: wall time and peak RSS to publish the >= 200 MB bench corpus.

Input: ``.winnow/bench/corpus.jsonl`` (id, text, url, lang), built by
``scripts/corpus/build_bench_corpus.py``. It is first turned into one night's tables as
the pipeline stores them (untimed): every document in ``scored``; a deterministic 15%
``rejected`` (two drop reasons), 5% ``duplicates``, the other 80% ``curated``.

Then, each in its own subprocess (so peak RSS is its own), one after the other, niced:

- ``winnow_full``: ``publish_night`` as the nightly asset runs it: token-counted sorted
  shards of the curated 80%, the removed 20% tokenized for the funnel, statistics,
  charts, card, compute report, fingerprint of the corpus file, manifest, verify, rename.
- ``winnow_all``: the same with every document curated and no upstream tables, for a
  like-for-like comparison with the reference;
- ``datatrove_all``: the reference: datatrove ``ParquetReader -> TokensCounter ->
  ParquetWriter`` (zstd, 64 MB files) over the same Parquet table, with the same GPT-2
  tokenizer (saved as tokenizer.json). Its token total is checked against ours.

    python -m bench.publish.run [--corpus .winnow/bench/corpus.jsonl] [--skip-reference]

Prints a table with the ratios and writes ``.winnow/bench/publish/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import summary_markdown, write_results

REPO = Path(__file__).resolve().parents[2]
NIGHT = "2026-11-24"
DEFAULT_CORPUS = REPO / ".winnow" / "bench" / "corpus.jsonl"
DEFAULT_WORK = REPO / ".winnow" / "bench" / "publish"


def prepare(corpus: Path, work: Path) -> dict:
    """The night's tables from the corpus (Parquet, as the IO manager stores them)."""
    import polars as pl

    tables = work / "tables"
    marker = tables / "source.json"
    st = corpus.stat()
    key = {"corpus": str(corpus), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    if marker.exists() and json.loads(marker.read_text()) == key:
        return json.loads((tables / "counts.json").read_text())
    shutil.rmtree(tables, ignore_errors=True)
    tables.mkdir(parents=True)
    t0 = time.perf_counter()
    base = (
        pl.scan_ndjson(corpus, schema={"id": pl.String, "text": pl.String, "url": pl.String, "lang": pl.String})
        .with_row_index("row", offset=1)
        .select(
            doc_id=pl.col("id"),
            text=pl.col("text"),
            source=pl.lit("bench"),
            url=pl.col("url"),
            source_file=pl.lit(str(corpus)),
            source_line=pl.col("row").cast(pl.Int64),
            lang=pl.col("lang"),
            lang_detected=pl.col("lang"),
            partition=pl.lit(NIGHT),
            bucket=(pl.col("row") % 20).cast(pl.Int32),
        )
        .with_columns(
            status=pl.when(pl.col("bucket") < 3).then(pl.lit("rejected")).otherwise(pl.lit("kept")),
            drop_reason=pl.when(pl.col("bucket") < 2)
            .then(pl.lit("gopher_short_doc"))
            .when(pl.col("bucket") == 2)
            .then(pl.lit("fineweb_line_punct")),
            drop_family=pl.when(pl.col("bucket") < 2)
            .then(pl.lit("gopher_quality"))
            .when(pl.col("bucket") == 2)
            .then(pl.lit("fineweb")),
            quality_score=pl.when(pl.col("bucket") < 3).then(0.25).otherwise(0.75),
        )
    )
    base.sink_parquet(tables / "scored.parquet")
    scored = pl.scan_parquet(tables / "scored.parquet")
    scored.filter(pl.col("bucket") < 3).sink_parquet(tables / "rejected.parquet")
    scored.filter(pl.col("bucket") == 3).with_columns(
        dup_kind=pl.lit("exact"), dup_of=pl.lit(None, pl.String)
    ).sink_parquet(tables / "duplicates.parquet")
    scored.filter(pl.col("bucket") > 3).sink_parquet(tables / "curated.parquet")
    counts = {
        name: pl.scan_parquet(tables / f"{name}.parquet").select(pl.len()).collect().item()
        for name in ("scored", "rejected", "duplicates", "curated")
    }
    counts["text_bytes"] = int(scored.select(pl.col("text").str.len_bytes().sum()).collect().item())
    counts["prepare_s"] = round(time.perf_counter() - t0, 2)
    (tables / "counts.json").write_text(json.dumps(counts))
    marker.write_text(json.dumps(key))
    return counts


def _recipe():
    from schemas.recipe import Recipe

    return Recipe.model_validate(
        {
            "name": "bench",
            "version": 1,
            "sources": [{"name": "bench", "path": "corpus.jsonl", "format": "jsonl"}],
            "publish": {"dataset": "bench"},  # defaults: 64 MB shards, 1000-row row groups, zstd 3
        }
    )


def _child(tool: str, work: Path) -> dict:
    import polars as pl

    tables = work / "tables"
    out = work / "out" / tool
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result: dict = {"tool": tool}

    def cpu_now() -> float:  # this process and any it waited for
        return sum(
            r.ru_utime + r.ru_stime
            for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )

    cpu0 = cpu_now()
    t0 = time.perf_counter()
    if tool.startswith("winnow"):
        from winnow.publish.publish import NightTables, publish_night

        scan = lambda n: pl.scan_parquet(tables / f"{n}.parquet")  # noqa: E731
        if tool == "winnow_full":
            nt = NightTables(
                curated=scan("curated"),
                scored=scan("scored"),
                rejected=scan("rejected"),
                duplicates=scan("duplicates"),
                raw=scan("scored"),
            )
        else:
            nt = NightTables(curated=scan("scored"))
        res = publish_night(
            nt, _recipe(), NIGHT, out / "releases", work_dir=out / "work", fingerprint_cache=out / "fingerprints.json"
        )
        result.update(
            rows=res.manifest["totals"]["rows"],
            tokens=res.manifest["totals"]["tokens"],
            raw_tokens=res.report["tokens"]["raw"],
            shards=res.manifest["totals"]["shards"],
            bytes=res.manifest["totals"]["bytes"],
            timings=res.timings,
        )
    elif tool == "datatrove_all":
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.readers import ParquetReader
        from datatrove.pipeline.tokens import TokensCounter
        from datatrove.pipeline.writers import ParquetWriter

        from winnow.tokens import load_tokenizer

        tok_file = work / "gpt2-tokenizer.json"
        load_tokenizer("gpt2").save(str(tok_file))
        cpu0, t0 = cpu_now(), time.perf_counter()  # saving the tokenizer file is not part of the work
        LocalPipelineExecutor(
            pipeline=[
                ParquetReader(str(tables), glob_pattern="scored.parquet", id_key="doc_id"),
                TokensCounter(tokenizer_name_or_path=str(tok_file)),
                ParquetWriter(str(out / "shards"), compression="zstd", max_file_size=64 * 2**20),
            ],
            tasks=1,
            workers=1,
            logging_dir=str(out / "logs"),
            skip_completed=False,
        ).run()
    else:
        raise SystemExit(f"unknown tool {tool}")
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    # CPU seconds (all threads) from the start of the work: less sensitive than wall time to
    # other jobs sharing the machine
    result["cpu_s"] = round(cpu_now() - cpu0, 2)
    result["peak_rss_mb"] = round(
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024,
        1,
    )
    if tool == "datatrove_all":
        files = sorted((out / "shards").rglob("*.parquet"))
        df = pl.scan_parquet(files)
        names = df.collect_schema().names()
        tok = pl.col("metadata").struct.field("token_count") if "metadata" in names else pl.col("token_count")
        rows, tokens = df.select(pl.len(), tok.sum()).collect().row(0)
        result.update(rows=rows, tokens=int(tokens), shards=len(files), bytes=sum(f.stat().st_size for f in files))
    return result


def run_child(tool: str, work: Path) -> dict:
    env = {
        **os.environ,
        "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "2"),
        "TOKENIZERS_PARALLELISM": "true",
        "PYTHONPATH": str(REPO),
    }
    cmd = ["nice", "-n", "10", sys.executable, "-m", "bench.publish.run", "--child", tool, "--work", str(work)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.work)))
        return 0
    if not args.corpus.exists():
        print(
            f"{args.corpus}: bench corpus not found; build it with `python scripts/corpus/build_bench_corpus.py`",
            file=sys.stderr,
        )
        return 2
    size_mb = args.corpus.stat().st_size / 1e6
    counts = prepare(args.corpus, args.work)
    print(
        f"corpus {args.corpus} ({size_mb:.1f} MB, {counts['scored']:,} documents, "
        f"{counts['text_bytes'] / 1e6:.1f} MB of text); night tables prepared in {counts['prepare_s']} s "
        f"(curated {counts['curated']:,}, rejected {counts['rejected']:,}, duplicates {counts['duplicates']:,})"
    )
    tools = ["winnow_full", "winnow_all"] + ([] if args.skip_reference else ["datatrove_all"])
    results = {}
    for tool in tools:
        results[tool] = r = run_child(tool, args.work)
        print(
            f"{tool:14s} wall {r['wall_s']:8.2f} s  CPU {r['cpu_s']:8.2f} s  peak RSS {r['peak_rss_mb']:8.1f} MB  rows {r['rows']:,}  "
            f"tokens {r['tokens']:,}  shards {r['shards']}  {r['bytes'] / 1e6:.1f} MB"
            + (f"  MB text/s {counts['text_bytes'] / 1e6 / r['wall_s']:.1f}" if tool != "winnow_full" else "")
        )
    full = results["winnow_full"]
    print(f"\npublish time for the bench corpus (winnow_full): {full['wall_s']} s; breakdown {full['timings']}")
    print(
        f"raw tokens {full['raw_tokens']:,} = curated {full['tokens']:,} + removed "
        f"{full['raw_tokens'] - full['tokens']:,}"
    )
    if "datatrove_all" in results:
        dt, ours = results["datatrove_all"], results["winnow_all"]
        same = dt["tokens"] == ours["tokens"] == full["raw_tokens"]
        print(
            f"token totals agree (winnow_all, winnow_full raw, datatrove): {same} "
            f"({ours['tokens']:,} / {full['raw_tokens']:,} / {dt['tokens']:,})"
        )
        print(
            f"ratio datatrove / winnow_all: wall time {dt['wall_s'] / ours['wall_s']:.2f}x, "
            f"CPU time {dt['cpu_s'] / ours['cpu_s']:.2f}x, peak RSS {dt['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores; other jobs share the machine)")
    out = args.work / "results.json"
    out.write_text(json.dumps({"corpus_mb": size_mb, "counts": counts, "results": results}, indent=2))
    write_results(
        "publish",
        {"corpus_mb": size_mb, "counts": counts, "results": results},
        summary_markdown({"corpus_mb": size_mb, **results}),
    )
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
