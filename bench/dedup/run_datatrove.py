"""datatrove's four-stage MinHash dedup on the bench shards (run in its own process by ``bench.dedup.run``).

MinhashDedupSignature → MinhashDedupBuckets → MinhashDedupCluster → MinhashDedupFilter,
14 buckets × 8 hashes, word 5-grams, 64-bit xxhash, seed 1 (``--seed``), on the same Parquet shards.

Two shims, both needed to run datatrove 0.10.1 here at all, neither changing its algorithm:

* its default English word tokenizer is NLTK's, which needs the ``punkt`` data
  (a download at run time, not allowed here). datatrove tokenizes *after*
  ``simplify_text`` has lowercased the text and replaced punctuation by spaces, where
  NLTK's word tokenizer reduces to splitting on whitespace; ``SplitTokenizer`` does
  that, and splits CJK/Thai-family characters into single tokens exactly like
  Winnow's tokenizer, so both tools shingle the same words;
* its xxhash wrapper passes ``str`` to ``xxhash.xxh64_intdigest``, which xxhash 4.x
  rejects; ``xxhash64_utf8`` encodes to UTF-8 first (what xxhash 3.x did implicitly).
"""

from __future__ import annotations

import argparse
import json
import struct
import time
from pathlib import Path

import regex
import xxhash
from datatrove.utils.word_tokenizers import WordTokenizer

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_TOKEN = regex.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


class SplitTokenizer(WordTokenizer):
    """Whitespace split with one token per CJK-family character (text is already simplified)."""

    def __init__(self):
        super().__init__("xx")

    def word_tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


def xxhash64_utf8(data: str | bytes) -> int:
    return xxhash.xxh64_intdigest(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)


def run(input_dir: Path, work: Path, workers: int, seed: int = 1) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.hashing import HashConfig

    files = sorted(input_dir.glob("*.parquet"))
    cfg = MinhashConfig(
        n_grams=5,
        num_buckets=14,
        hashes_per_bucket=8,
        seed=seed,
        hash_config=HashConfig(precision=64, hash_fc="xxhash"),
    )
    signature = MinhashDedupSignature(output_folder=str(work / "sigs"), config=cfg, language=SplitTokenizer())
    signature._hash_func = xxhash64_utf8

    def reader():
        return ParquetReader(str(input_dir), glob_pattern="*.parquet", text_key="text", id_key="id")

    logs = str(work / "logs")
    s1 = LocalPipelineExecutor([reader(), signature], tasks=len(files), workers=workers, logging_dir=f"{logs}/1")
    s2 = LocalPipelineExecutor(
        [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=cfg)],
        tasks=cfg.num_buckets,
        workers=workers,
        logging_dir=f"{logs}/2",
        depends=s1,
    )
    s3 = LocalPipelineExecutor(
        [
            MinhashDedupCluster(
                input_folder=str(work / "buckets"),
                output_folder=str(work / "remove_ids"),
                config=cfg,
                save_cluster_id=True,
            )
        ],
        tasks=1,
        logging_dir=f"{logs}/3",
        depends=s2,
    )
    s4 = LocalPipelineExecutor(
        [
            reader(),
            MinhashDedupFilter(
                input_folder=str(work / "remove_ids"), exclusion_writer=ParquetWriter(str(work / "removed"))
            ),
            ParquetWriter(str(work / "deduplicated")),
        ],
        tasks=len(files),
        workers=workers,
        logging_dir=f"{logs}/4",
        depends=s3,
    )
    t = time.perf_counter()
    s4.run()
    seconds = time.perf_counter() - t
    import pyarrow.parquet as pq

    removed = []
    for f in sorted((work / "removed").glob("*.parquet")):
        removed += pq.read_table(f, columns=["id"]).column("id").to_pylist()
    members = {}  # (rank, position in the rank's input) -> cluster id, for documents in some cluster
    for f in sorted((work / "remove_ids").glob("*.clusters")):
        rank = int(f.name.split(".")[0])
        for doc, cluster in struct.iter_unpack("<2I", f.read_bytes()):
            members[(rank, doc)] = cluster
    clusters = set(members.values())
    # each removed document against the member of its cluster that was kept
    per_shard = {}
    for f in sorted(input_dir.glob("*.parquet")):
        per_shard[len(per_shard)] = pq.read_table(f, columns=["id"]).column("id").to_pylist()
    by_cluster = {}
    for (rank, doc), c in members.items():
        by_cluster.setdefault(c, []).append(per_shard[rank][doc])
    removed_set = set(removed)
    removed_pairs = []
    for ids in by_cluster.values():
        kept = [d for d in ids if d not in removed_set]
        removed_pairs += [[d, kept[0] if kept else None] for d in ids if d in removed_set]
    return {
        "seconds": seconds,
        "removed": removed,
        "removed_pairs": removed_pairs,
        "clusters": len(clusters),
        "members": [[r, d, c] for (r, d), c in sorted(members.items())],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input_dir", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1, help="MinHash seed (another seed = an independent LSH draw)")
    args = ap.parse_args(argv)
    res = run(args.input_dir, args.work, args.workers, args.seed)
    args.out.write_text(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
