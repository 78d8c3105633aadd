"""Winnow's dedup on the bench shards (run in its own process by ``bench.dedup.run``).

Reads the same Parquet shards as datatrove (a lazy scan, streamed in batches) and runs
``winnow.dedup.pipeline.run_dedup`` with the recipe defaults (14 bands × 8 rows,
word 5-grams, 64-bit), with ``--verify none`` (the same algorithm as datatrove: every
LSH collision is a duplicate) or ``--verify exact`` (Winnow's default).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import polars as pl

from winnow.dedup.minhash import MinHashParams
from winnow.dedup.pipeline import DedupSettings, run_dedup


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input_dir", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--verify", choices=["exact", "signature", "none"], default="none")
    ap.add_argument("--seed", type=int, default=1, help="MinHash seed (another seed = an independent LSH draw)")
    ap.add_argument("--workers", type=int, default=1, help="map processes (settings work.dedup_workers)")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    docs = pl.scan_parquet(sorted(args.input_dir.glob("*.parquet")))
    settings = DedupSettings(verify=args.verify, params=MinHashParams(seed=args.seed), workers=args.workers)
    outcome = run_dedup(docs.select(doc_id="id", text="text"), settings, args.work)
    res = outcome.results.select("doc_id", "dup_cluster_id", "dup_cluster_size", "dup_of").collect()
    seconds = time.perf_counter() - t
    dups = res.filter(pl.col("dup_of").is_not_null())
    removed = dups["doc_id"].to_list()
    clusters = res.filter(pl.col("dup_cluster_size") > 1)["dup_cluster_id"].n_unique()
    clustered = res.filter(pl.col("dup_cluster_size") > 1)
    args.out.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "removed": removed,
                "removed_pairs": [[d, k] for d, k in zip(dups["doc_id"], dups["dup_of"])],
                "clusters": clusters,
                "stats": outcome.stats,
                "members": [[d, c] for d, c in zip(clustered["doc_id"], clustered["dup_cluster_id"])],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
