"""The persisted dedup index: content hashes, MinHash signatures and band keys of everything published.

Layout under ``<root>`` (by default ``winnow_home()/dedup_index``)::

    meta.json                       the MinHash parameters the index was built with
    nights.json                     the nights the index must hold (its manifest)
    partitions/<partition>/
        manifest.json               rows, and each file's size and xxh3-128 checksum
        hashes.parquet              doc_id, content_hash (u64)             -> exact lookups
        signatures.parquet          doc_id, signature (k × u64)            -> verifying candidates
        band_000.parquet … band_NNN doc_id, key (u64)                      -> LSH lookups, one file per band

A night is looked up against every partition except its own (so rerunning a night
never matches the night against itself) and then written as its own partition,
replacing the previous files of that partition atomically (written to a temporary
directory, then renamed). A lookup reads only the compact key columns of the
history, never its text: the signature work of a night grows with the night's
documents, and the history costs one streaming scan of 16-byte keys per band
(with Parquet statistics to skip row groups). ``rebuild_index_from_releases``
recreates the whole index from published releases.

The index knows what it should contain: ``nights.json`` lists every night written and
each night's ``manifest.json`` lists its files with checksums (written in the staging
directory, so it is swapped in with the files). Opening the index checks all of it; a
missing night, a missing or changed file fails with the night, the file and the rebuild
command, because a partial index would silently keep documents it should drop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from winnow.dedup.minhash import MinHasher, MinHashParams
from winnow.storage import CorruptStateError, file_checksum, read_state_json, write_text_atomic

NIGHTS_FILE = "nights.json"
MANIFEST_FILE = "manifest.json"
REBUILD = "python -m winnow.dedup.index rebuild"

_NAME_OK = re.compile(r"^[A-Za-z0-9_.=-]+$")


class IndexMismatchError(ValueError):
    """The index was built with other MinHash parameters than the recipe asks for."""


class IndexIncompleteError(CorruptStateError):
    """The index lacks a night or a file its manifest lists, or a file changed since it was written."""


def _check_name(partition: str) -> str:
    if not _NAME_OK.match(partition) or partition.startswith("."):
        raise ValueError(
            f"dedup index: partition name {partition!r} must match {_NAME_OK.pattern} and not start with '.'"
        )
    return partition


def _signature_array(sig: np.ndarray) -> pa.FixedSizeListArray:
    k = sig.shape[1]
    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(sig).ravel(), type=pa.uint64()), k)


class PartitionWriter:
    """Streams one partition's entries into a directory (band keys computed from the signatures)."""

    def __init__(self, directory: Path, hasher: MinHasher):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hasher = hasher
        k = hasher.params.num_perm
        self._writers = {
            "hashes": pq.ParquetWriter(
                self.dir / "hashes.parquet",
                pa.schema([("doc_id", pa.large_string()), ("content_hash", pa.uint64())]),
                compression="zstd",
            ),
            "signatures": pq.ParquetWriter(
                self.dir / "signatures.parquet",
                pa.schema([("doc_id", pa.large_string()), ("signature", pa.list_(pa.uint64(), k))]),
                compression="zstd",
            ),
        }
        band_schema = pa.schema([("key", pa.uint64()), ("doc_id", pa.large_string())])
        for b in range(hasher.params.bands):
            self._writers[f"band_{b:03d}"] = pq.ParquetWriter(
                self.dir / f"band_{b:03d}.parquet", band_schema, compression="zstd"
            )
        self.rows = 0

    def add(
        self, doc_ids: list[str] | pa.Array, content_hash: np.ndarray, signature: np.ndarray, has_signature: np.ndarray
    ) -> None:
        ids = (
            pa.array(doc_ids, type=pa.large_string())
            if not isinstance(doc_ids, pa.Array)
            else doc_ids.cast(pa.large_string())
        )
        self._writers["hashes"].write_table(
            pa.table({"doc_id": ids, "content_hash": pa.array(content_hash, type=pa.uint64())})
        )
        sel = np.flatnonzero(has_signature)
        if sel.size:
            sig = signature[sel]
            sel_ids = ids.take(pa.array(sel))
            self._writers["signatures"].write_table(pa.table({"doc_id": sel_ids, "signature": _signature_array(sig)}))
            keys = self.hasher.band_keys(sig)
            for b in range(keys.shape[1]):
                order = np.argsort(keys[:, b], kind="stable")  # sorted keys: tight row-group statistics
                self._writers[f"band_{b:03d}"].write_table(
                    pa.table(
                        {"key": pa.array(keys[order, b], type=pa.uint64()), "doc_id": sel_ids.take(pa.array(order))}
                    )
                )
        self.rows += len(ids)

    def close(self) -> None:
        """Close every file, then record their sizes and checksums in the partition's manifest."""
        for w in self._writers.values():
            w.close()
        files = {
            f"{name}.parquet": {
                "bytes": (self.dir / f"{name}.parquet").stat().st_size,
                "xxh3_128": file_checksum(self.dir / f"{name}.parquet"),
            }
            for name in self._writers
        }
        manifest = {"partition": self.dir.name, "rows": self.rows, "files": files}
        write_text_atomic(self.dir / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True))


class SignatureIndex:
    """Read and write the persisted index at ``root``."""

    def __init__(self, root: Path | str, params: MinHashParams = MinHashParams()):
        self.root = Path(root)
        self.params = params
        self.hasher = MinHasher(params)
        self.check_meta()
        self.verify()

    # -- meta -----------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        return self.root / "meta.json"

    def check_meta(self) -> None:
        if not self.meta_path.exists():
            return
        found = read_state_json(self.meta_path, "the dedup index's MinHash parameters", self._rebuild_hint())
        want = self.params.identity()
        if found != want:
            diff = {
                k: (found.get(k), want.get(k)) for k in sorted(set(found) | set(want)) if found.get(k) != want.get(k)
            }
            raise IndexMismatchError(
                f"dedup index {self.root} was built with other MinHash parameters than the recipe's "
                f"(index, recipe): {diff}. Its keys cannot be compared; rebuild it with "
                f"`python -m winnow.dedup.index rebuild <releases root>` (or delete {self.root})."
            )

    def _rebuild_hint(self) -> str:
        return f"rebuild the index from the published releases: `{REBUILD}` (writes {self.root} anew)"

    @property
    def nights_path(self) -> Path:
        return self.root / NIGHTS_FILE

    def listed_nights(self) -> list[str]:
        if not self.nights_path.exists():
            return []
        return list(
            read_state_json(self.nights_path, "the dedup index's list of nights", self._rebuild_hint())["nights"]
        )

    def _write_nights(self, nights: list[str]) -> None:
        _write_nights(self.root, nights)

    def verify(self) -> None:
        """Fail unless every listed night is present with every file its manifest names, unchanged.

        A night folder that is not listed but carries a valid manifest is a publish that
        stopped between swapping its folder in and listing it: it is listed now.
        """
        present = self.partitions()
        listed = self.listed_nights()
        if present and not self.nights_path.exists():
            raise IndexIncompleteError(
                f"dedup index {self.root} has nights {present[0]}…{present[-1]} but no {NIGHTS_FILE}, so what "
                f"it should hold cannot be checked. {self._rebuild_hint()}"
            )
        for night in listed:
            if night not in present:
                raise IndexIncompleteError(
                    f"dedup index {self.root}: night {night} is listed in {NIGHTS_FILE} but its folder "
                    f"{self.partitions_dir / night} is missing, so its documents would no longer count as seen. "
                    f"{self._rebuild_hint()}"
                )
        for night in present:
            self._verify_night(night)
        unlisted = [n for n in present if n not in listed]
        if unlisted:
            self._write_nights(listed + unlisted)

    def _verify_night(self, night: str) -> None:
        folder = self.partitions_dir / night
        mpath = folder / MANIFEST_FILE
        if not mpath.exists():
            raise IndexIncompleteError(
                f"dedup index {self.root}: night {night} has no {MANIFEST_FILE}. {self._rebuild_hint()}"
            )
        manifest = read_state_json(mpath, f"the dedup index's file list for night {night}", self._rebuild_hint())
        for name, want in sorted(manifest["files"].items()):
            f = folder / name
            if not f.exists():
                why = "is missing"
            elif f.stat().st_size != want["bytes"]:
                why = f"has {f.stat().st_size} bytes, not the {want['bytes']} written"
            elif file_checksum(f) != want["xxh3_128"]:
                why = "changed since it was written (checksum differs)"
            else:
                continue
            raise IndexIncompleteError(
                f"dedup index {self.root}: night {night}: {name} {why}, so tonight's deduplication would keep "
                f"documents it should drop. {self._rebuild_hint()}"
            )

    def _write_meta(self) -> None:
        write_text_atomic(self.meta_path, json.dumps(self.params.identity(), indent=2, sort_keys=True))

    # -- partitions -----------------------------------------------------------------
    @property
    def partitions_dir(self) -> Path:
        return self.root / "partitions"

    def partitions(self, before: str | None = None) -> list[str]:
        """Published partitions; with ``before``, only the nights earlier than it.

        A night is deduplicated against *earlier* nights only: rerunning night N (say, with
        a new model) must give the same result whether or not later nights were published
        since, and never matches N's own entries. Partition keys are ISO dates, so their
        names sort in time order.
        """
        if not self.partitions_dir.exists():
            return []
        return sorted(
            p.name
            for p in self.partitions_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (before is None or p.name < before)
        )

    def files(self, kind: str, before: str | None = None) -> list[Path]:
        out = []
        for p in self.partitions(before):
            f = self.partitions_dir / p / f"{kind}.parquet"
            if f.exists():
                out.append(f)
        return out

    def _scan(self, kind: str, before: str | None) -> pl.LazyFrame | None:
        files = self.files(kind, before)
        if not files:
            return None
        return (
            pl.scan_parquet(files, include_file_paths="_file")
            .with_columns(hist_partition=pl.col("_file").str.extract(r"partitions/([^/]+)/[^/]+$"))
            .drop("_file")
        )

    def size(self) -> int:
        lf = self._scan("hashes", None)
        return 0 if lf is None else int(lf.select(pl.len()).collect().item())

    # -- lookups --------------------------------------------------------------------
    def lookup_exact(self, tonight: pl.DataFrame, before: str | None) -> pl.DataFrame:
        """Tonight's (doc, content_hash) rows whose hash is in the index: (doc, hist_doc_id, hist_partition)."""
        empty = pl.DataFrame(schema={"doc": pl.Int64, "hist_doc_id": pl.String, "hist_partition": pl.String})
        lf = self._scan("hashes", before)
        if lf is None or tonight.height == 0:
            return empty
        wanted = tonight.get_column("content_hash").unique()
        hits = lf.filter(pl.col("content_hash").is_in(wanted.implode())).collect()
        return tonight.join(hits, on="content_hash").select(
            "doc", hist_doc_id="doc_id", hist_partition="hist_partition"
        )

    def lookup_band(self, band: int, tonight: pl.DataFrame, before: str | None) -> pl.DataFrame:
        """Tonight's (key, doc) rows of one band that collide with the index: (doc, hist_doc_id, hist_partition)."""
        empty = pl.DataFrame(schema={"doc": pl.Int64, "hist_doc_id": pl.String, "hist_partition": pl.String})
        lf = self._scan(f"band_{band:03d}", before)
        if lf is None or tonight.height == 0:
            return empty
        wanted = tonight.get_column("key").unique()
        hits = lf.filter(pl.col("key").is_in(wanted.implode())).collect()
        return tonight.join(hits, on="key").select("doc", hist_doc_id="doc_id", hist_partition="hist_partition")

    def signatures(self, wanted: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
        """Signatures of (hist_doc_id, hist_partition) rows: (the rows found, matrix in that order)."""
        found = []
        for part, group in wanted.group_by("hist_partition"):
            f = self.partitions_dir / part[0] / "signatures.parquet"
            if not f.exists():
                continue
            ids = group.get_column("hist_doc_id").unique()
            rows = pl.scan_parquet(f).filter(pl.col("doc_id").is_in(ids.implode())).collect()
            found.append(rows.select(hist_doc_id="doc_id", hist_partition=pl.lit(part[0]), signature="signature"))
        k = self.params.num_perm
        if not found:
            return pl.DataFrame(schema={"hist_doc_id": pl.String, "hist_partition": pl.String}), np.empty(
                (0, k), np.uint64
            )
        table = pl.concat(found).unique(["hist_doc_id", "hist_partition"], keep="first", maintain_order=True)
        return table.select("hist_doc_id", "hist_partition"), table.get_column("signature").to_numpy().reshape(-1, k)

    # -- writing --------------------------------------------------------------------
    def writer(self, partition: str, staging: Path) -> PartitionWriter:
        return PartitionWriter(staging / _check_name(partition), self.hasher)

    def publish_partition(self, partition: str, frame: pl.LazyFrame, batch_rows: int = 50_000) -> int:
        """Replace ``partition``'s entries with ``frame`` (doc_id, content_hash u64, signature k × u64 or null)."""
        _check_name(partition)
        self.partitions_dir.mkdir(parents=True, exist_ok=True)
        staging = self.partitions_dir / f".tmp-{partition}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        k = self.params.num_perm
        writer = PartitionWriter(staging, self.hasher)
        try:
            for batch in frame.select("doc_id", "content_hash", "signature").collect_batches(chunk_size=batch_rows):
                if batch.height == 0:
                    continue
                has = batch.get_column("signature").is_not_null().to_numpy()
                sig = np.full((batch.height, k), np.iinfo(np.uint64).max, dtype=np.uint64)
                if has.any():
                    sig[has] = batch.get_column("signature").filter(pl.Series(has)).to_numpy().reshape(-1, k)
                writer.add(batch.get_column("doc_id").to_arrow(), batch.get_column("content_hash").to_numpy(), sig, has)
        finally:
            writer.close()
        rows = writer.rows
        self._write_meta()
        _swap_in(writer.dir, self.partitions_dir / partition)
        self._write_nights([*self.listed_nights(), partition])
        return rows


def _write_nights(root: Path, nights: list[str]) -> None:
    """The index's manifest of nights (``nights.json``), written atomically."""
    write_text_atomic(root / NIGHTS_FILE, json.dumps({"nights": sorted(set(nights))}, indent=2))


def _swap_in(new: Path, final: Path) -> None:
    """Replace directory ``final`` by ``new`` (readers see the old or the new one, never a mix)."""
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)


def _release_versions(releases_root: Path):
    """(dataset, version dir) of every published release; temp dirs and symlinks (``latest``) skipped."""
    for ds in sorted(
        p for p in releases_root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    ):
        for ver in sorted(p for p in ds.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")):
            shards = sorted(ver.glob("*.parquet"))
            if shards:
                yield ds.name, ver, shards


def rebuild_index_from_releases(
    releases_root: Path | str,
    index_root: Path | str,
    params: MinHashParams = MinHashParams(),
    batch_rows: int = 20_000,
) -> dict:
    """Recreate the index from ``releases/<dataset>/<version>/*.parquet`` (columns ``doc_id``, ``text``).

    A document's index partition is its ``partition`` column when the release has
    one, else the version directory's name (versions are nightly partition keys).
    The new index is built beside the old one and swapped in at the end, so a
    failed rebuild leaves the old index untouched. Returns counts per partition.
    """
    releases_root = Path(releases_root)
    root = Path(index_root)
    if not releases_root.exists():
        raise FileNotFoundError(f"rebuild_index_from_releases: {releases_root} does not exist")
    build = root.with_name(f".{root.name}.rebuild-{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    hasher = MinHasher(params)
    writers: dict[str, PartitionWriter] = {}
    counts: dict[str, int] = {}
    try:
        for _dataset, version, shards in _release_versions(releases_root):
            lf = pl.scan_parquet(shards)
            names = lf.collect_schema().names()
            missing = {"doc_id", "text"} - set(names)
            if missing:
                raise ValueError(f"rebuild_index_from_releases: {version} has no column(s) {sorted(missing)}")
            part_expr = pl.col("partition").fill_null(version.name) if "partition" in names else pl.lit(version.name)
            for batch in lf.select("doc_id", "text", _part=part_expr.cast(pl.String)).collect_batches(
                chunk_size=batch_rows
            ):
                for (part,), group in batch.group_by("_part", maintain_order=True):
                    if part not in writers:
                        writers[part] = PartitionWriter(build / "partitions" / _check_name(part), hasher)
                    sb = hasher.compute(group.get_column("text"), skip_exact_repeats=False)
                    writers[part].add(
                        group.get_column("doc_id").to_arrow(), sb.content_hash, sb.signature, sb.has_signature
                    )
                    counts[part] = counts.get(part, 0) + group.height
        for w in writers.values():
            w.close()
        (build / "partitions").mkdir(parents=True, exist_ok=True)
        _write_nights(build, list(writers))
        SignatureIndex(build, params)._write_meta()  # opening it checks every file just written
        _swap_in(build, root)
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except Exception:
                pass
        shutil.rmtree(build, ignore_errors=True)
        raise
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m winnow.dedup.index rebuild [releases_root] [--index DIR] [--recipe FILE]``."""
    import argparse

    from schemas.recipe import load_recipe
    from winnow.settings import load_settings
    from winnow.store import Store

    ap = argparse.ArgumentParser(prog="python -m winnow.dedup.index")
    sub = ap.add_subparsers(dest="cmd", required=True)
    rb = sub.add_parser("rebuild", help="rebuild the dedup index from published releases")
    rb.add_argument("releases_root", type=Path, nargs="?", default=None, help="default: the settings' releases")
    rb.add_argument("--index", type=Path, default=None)
    rb.add_argument("--recipe", type=Path, default=None)
    args = ap.parse_args(argv)
    settings = load_settings()
    recipe = load_recipe(args.recipe or settings.recipe)
    index = args.index or Store(settings.home).dedup_index
    counts = rebuild_index_from_releases(
        args.releases_root or settings.releases_root, index, MinHashParams.from_config(recipe.dedup.minhash)
    )
    print(json.dumps({"partitions": counts, "documents": sum(counts.values())}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
