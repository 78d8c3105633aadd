"""Build the validation benchmark's tables: 1,000,000 realistic curated documents.

Texts are windows of real text from the bench corpus (``.winnow/bench/corpus.jsonl``,
Debian documentation and man pages in several languages, built by
``scripts/corpus/build_bench_corpus.py``): each document is a window of a corpus
document at a seeded random offset, its length drawn from a log-normal (median about
900 characters, clipped to 100..20,000); windows that repeat a text are dropped, so every
text (and content hash) is distinct. The other columns are what ``curated_documents``
carries: the canonical document columns, signals (Gopher/C4/FineWeb/PII/language style,
ratios in [0, 1] and counts), ``content_hash`` and ``quality_score``.

Written (zstd Parquet) to ``.winnow/bench/validation/curated_<n>.parquet``; reused while
the corpus and ``n`` are unchanged.

    python -m bench.validation.data [--docs 1000000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".winnow" / "bench" / "corpus.jsonl"
WORK = REPO / ".winnow" / "bench" / "validation"
NIGHT = "2026-11-24"


def build(n_docs: int = 1_000_000, corpus: Path = CORPUS, work: Path = WORK, seed: int = 7) -> Path:
    import numpy as np
    import polars as pl

    if not corpus.exists():
        raise FileNotFoundError(
            f"{corpus}: bench corpus missing; build it with `python scripts/corpus/build_bench_corpus.py`"
        )
    out = work / f"curated_{n_docs}.parquet"
    marker = work / f"curated_{n_docs}.json"
    st = corpus.stat()
    key = {
        "corpus": str(corpus),
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "docs": n_docs,
        "seed": seed,
        "generator": 3,
    }
    if out.exists() and marker.exists() and json.loads(marker.read_text()) == key:
        return out
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    src = (
        pl.scan_ndjson(corpus, schema={"id": pl.String, "text": pl.String, "url": pl.String, "lang": pl.String})
        .select("text", "url", "lang", n=pl.col("text").str.len_chars())
        .filter(pl.col("n") >= 200)
        .collect()
        .with_row_index("j")
    )
    rng = np.random.default_rng(seed)
    m = int(n_docs * 1.15) + 1000  # candidates: windows that repeat a text are dropped below
    j = np.arange(m) % src.height
    want = np.clip(rng.lognormal(mean=7.0, sigma=0.8, size=m), 200, 20_000).astype(np.int64)
    avail = src["n"].to_numpy()[j]
    length = np.maximum(np.minimum(want, (avail * 0.7).astype(np.int64)), 100)
    start = (rng.random(m) * (avail - length + 1)).astype(np.int64)
    now = pl.datetime(2026, 11, 24, 2, 0, 0, time_zone="UTC")
    frame = (
        pl.DataFrame(
            {
                "j": j.astype(np.uint32),
                "start": start,
                "length": length,
                "u": rng.random(m),
                "v": rng.random(m),
                "w": rng.random(m),
            }
        )
        .lazy()
        .join(src.lazy().with_columns(pl.col("j").cast(pl.UInt32)), on="j", how="left", maintain_order="left")
        .with_columns(text=pl.col("text").str.slice(pl.col("start"), pl.col("length")))
        .unique(subset="text", keep="first", maintain_order=True)
        .head(n_docs)
        .with_row_index("i")
        .with_columns(
            doc_id=pl.format("bench-{}", pl.col("i").cast(pl.String).str.zfill(7)),
            n_chars=pl.col("text").str.len_chars(),
            n_words=pl.col("text").str.count_matches(r"\S+"),
            n_lines=pl.col("text").str.count_matches("\n") + 1,
        )
        .select(
            "doc_id",
            "text",
            source=pl.lit("bench"),
            url=pl.col("url"),
            source_file=pl.lit(str(corpus)),
            source_line=(pl.col("j") + 1).cast(pl.Int64),
            lang=pl.col("lang"),
            created_at=now,
            ingested_at=now,
            partition=pl.lit(NIGHT),
            metadata=pl.lit("{}"),
            lang_detected=pl.col("lang"),
            lang_score=(0.5 + 0.5 * pl.col("u")),
            n_chars="n_chars",
            n_words="n_words",
            gopher_word_count="n_words",
            gopher_mean_word_length=(pl.col("n_chars") / pl.col("n_words").clip(1)),
            gopher_symbol_word_ratio=(0.1 * pl.col("v")),
            gopher_bullet_lines_ratio=(0.9 * pl.col("w")),
            gopher_ellipsis_lines_ratio=(0.3 * pl.col("u") * pl.col("v")),
            gopher_non_alpha_words_ratio=(0.8 * pl.col("w") * pl.col("u")),
            c4_num_sentences=(pl.col("n_chars") // 80).cast(pl.Int64),
            c4_lines=pl.col("n_lines").cast(pl.Int64),
            fineweb_line_punct_ratio=pl.col("v"),
            fineweb_short_line_ratio=(0.67 * pl.col("w")),
            fineweb_char_dup_ratio=(0.01 * pl.col("u")),
            fineweb_new_line_ratio=(0.3 * pl.col("v")),
            pii_email_count=pl.lit(0, dtype=pl.Int64),
            pii_phone_count=pl.lit(0, dtype=pl.Int64),
            status=pl.lit("kept"),
            keep=pl.lit(True),
            drop_reason=pl.lit(None, dtype=pl.String),
            drop_family=pl.lit(None, dtype=pl.String),
            content_hash=pl.col("text").hash(seed=1).cast(pl.String),
            quality_score=pl.col("w"),
        )
    )
    tmp = out.with_suffix(".tmp.parquet")
    frame.sink_parquet(tmp, compression="zstd", row_group_size=50_000)
    tmp.replace(out)
    stats = (
        pl.scan_parquet(out)
        .select(
            docs=pl.len(),
            text_mib=pl.col("n_chars").sum() / 2**20,
            unique_hashes=pl.col("content_hash").n_unique(),
            median_chars=pl.col("n_chars").median(),
        )
        .collect()
        .to_dicts()[0]
    )
    stats["build_s"] = round(time.perf_counter() - t0, 1)
    stats["file_mib"] = round(out.stat().st_size / 2**20, 1)
    marker.write_text(json.dumps(key))
    (work / f"curated_{n_docs}.stats.json").write_text(json.dumps(stats, indent=1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    args = ap.parse_args()
    path = build(args.docs)
    print(path)
    print((path.parent / f"curated_{args.docs}.stats.json").read_text())


if __name__ == "__main__":
    main()
