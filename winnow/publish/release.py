"""Write a release atomically: shards and manifest into a temp dir, then one rename.

A reader never sees a half-written release: either ``<dataset>/<version>/`` exists
complete, or it does not exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from schemas.documents import SCHEMA_VERSION


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_shards(docs: pl.DataFrame, out: Path, rows_per_shard: int) -> list[dict]:
    shards = []
    n = max(1, -(-docs.height // rows_per_shard)) if docs.height else 1
    for i in range(n):
        part = docs.slice(i * rows_per_shard, rows_per_shard)
        name = f"part-{i:05d}.parquet"
        part.write_parquet(out / name, compression="zstd", statistics=False)
        shards.append({"file": name, "rows": part.height, "bytes": (out / name).stat().st_size, "sha256": sha256_file(out / name)})
    return shards


def write_release(
    curated: pl.LazyFrame,
    root: Path,
    dataset: str,
    version: str,
    extra_manifest: dict | None = None,
    rows_per_shard: int = 50_000,
) -> Path:
    """Publish ``curated`` as ``root/dataset/version``; returns the final path.

    Rows are sorted by ``doc_id`` so equal inputs give equal shards.
    """
    final = root / dataset / version
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=final.parent))
    try:
        docs = curated.sort("doc_id").collect()
        shards = _write_shards(docs, tmp, rows_per_shard)
        manifest = {
            "dataset": dataset,
            "version": version,
            "schema_version": SCHEMA_VERSION,
            "shards": shards,
            "totals": {"rows": sum(s["rows"] for s in shards), "bytes": sum(s["bytes"] for s in shards)},
            **(extra_manifest or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def verify_release(path: Path) -> list[str]:
    """Problems found comparing ``manifest.json`` with the shard files (empty list: all good)."""
    manifest = json.loads((path / "manifest.json").read_text())
    problems = []
    for shard in manifest["shards"]:
        f = path / shard["file"]
        if not f.exists():
            problems.append(f"{f}: missing")
            continue
        if sha256_file(f) != shard["sha256"]:
            problems.append(f"{f}: sha256 differs from manifest")
        rows = pq.ParquetFile(f).metadata.num_rows
        if rows != shard["rows"]:
            problems.append(f"{f}: {rows} rows, manifest says {shard['rows']}")
    total = sum(s["rows"] for s in manifest["shards"])
    if total != manifest["totals"]["rows"]:
        problems.append(f"{path}: shard rows sum to {total}, totals say {manifest['totals']['rows']}")
    return problems
