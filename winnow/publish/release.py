"""Write a release atomically: shards, card and manifest into a temp dir, then one rename.

A reader never sees a half-written release: either ``<dataset>/<version>/`` exists
complete, or it does not exist. The ``LATEST`` pointer next to the versions is a
one-line file replaced with ``os.replace``, moved only after the release was renamed
into place and verified against its manifest.

Shards are deterministic: rows sorted by ``doc_id``, a fixed number of rows per row
group, a fixed zstd level, an explicit Arrow schema and no timestamps in the Parquet
metadata, so equal inputs give byte-identical files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.documents import RELEASE_SCHEMA, conform
from schemas.expectations import MANIFEST_FRAME_SCHEMA
from winnow.settings import REPO_ROOT
from winnow.storage import sha256_file, write_text_atomic
from winnow.tokens import n_tokens_filled

SHARD_PATTERN = "part-{:05d}.parquet"
LATEST_FILE = "LATEST"
MANIFEST = "manifest.json"
#: Columns with few distinct values get dictionary encoding; text and ids do not.
_DICT_COLUMNS = ["source", "lang", "lang_detected", "partition", "source_file"]
#: Min/max statistics only where they help readers skip row groups (not on long text).
_STATS_COLUMNS = ["doc_id", "source", "lang", "lang_detected", "created_at", "partition", "quality_score", "n_tokens"]


class ReleaseError(RuntimeError):
    """A release that cannot be written or does not match its manifest."""


# --------------------------------------------------------------------------- hashing
def code_version(repo: Path = REPO_ROOT, override: str | None = None) -> dict:
    """The git sha of the code that published, or why it is unknown (not a git checkout).

    ``override`` (settings ``code_version``) is for deployments built without ``.git``.
    """
    if override:
        return {"git_sha": override, "dirty": None, "source": "WINNOW_CODE_VERSION"}
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"git_sha": None, "dirty": None, "source": "unavailable", "reason": f"git not runnable: {exc}"}
    if head.returncode != 0:
        reason = (head.stderr.strip().splitlines() or ["git rev-parse failed"])[0]
        return {"git_sha": None, "dirty": None, "source": "unavailable", "reason": reason}
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {"git_sha": head.stdout.strip(), "dirty": dirty, "source": "git"}


def fingerprint_files(paths: Iterable[str], cache_file: Path | None = None) -> list[dict]:
    """Size, mtime and sha256 of each input file, sorted by path.

    The sha256 is computed once per (path, size, mtime) and kept in ``cache_file``, so
    re-publishing a night does not re-read its inputs. A file that no longer exists is
    listed with ``missing: true``.
    """
    cache: dict = {}
    if cache_file is not None and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cache = {}
    out, changed = [], False
    for p in sorted({str(p) for p in paths if p}):
        f = Path(p)
        try:
            st = f.stat()
        except OSError:
            out.append({"path": p, "missing": True})
            continue
        if f.is_dir():
            continue
        key = str(f.resolve())
        hit = cache.get(key)
        if hit and hit["bytes"] == st.st_size and hit["mtime_ns"] == st.st_mtime_ns:
            digest = hit["sha256"]
        else:
            digest = sha256_file(f)
            cache[key] = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            changed = True
        out.append({"path": p, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
    if changed and cache_file is not None:
        write_text_atomic(cache_file, json.dumps(cache, sort_keys=True))
    return out


# --------------------------------------------------------------------------- shards
def release_arrow_schema() -> pa.Schema:
    """The Arrow schema of a release shard (from ``schemas.documents.RELEASE_SCHEMA``)."""
    return pl.DataFrame(schema=RELEASE_SCHEMA).to_arrow(compat_level=pl.CompatLevel.oldest()).schema


def _block_plan(scratch: Path, rows_per_group: int, target_bytes: int) -> list[tuple[int, int]]:
    """(offset, rows) per shard: whole row groups, a shard closed once its text reaches ``target_bytes``.

    Decided from text lengths alone, before any shard is written, so shards can be written
    in parallel and the cut never depends on who wrote them.
    """
    sizes = pl.scan_parquet(scratch).select(pl.col("text").str.len_bytes().fill_null(0).cast(pl.Int64)).collect()
    n = sizes.height
    if n == 0:
        return [(0, 0)]
    per_group = np.add.reduceat(sizes.to_series().to_numpy(), np.arange(0, n, rows_per_group))
    plan, first, acc = [], 0, 0
    for g, size in enumerate(per_group):
        acc += int(size)
        if acc >= target_bytes:
            plan.append((first * rows_per_group, min(n, (g + 1) * rows_per_group) - first * rows_per_group))
            first, acc = g + 1, 0
    if first < len(per_group):
        plan.append((first * rows_per_group, n - first * rows_per_group))
    return plan


def write_one_shard(scratch: Path, path: Path, offset: int, rows: int, row_group_rows: int, zstd_level: int) -> dict:
    """Rows ``[offset, offset + rows)`` of the sorted scratch file as one release shard (a task)."""
    schema = release_arrow_schema()
    table = (
        pl.scan_parquet(scratch).slice(offset, rows).collect().to_arrow(compat_level=pl.CompatLevel.oldest())
    ).cast(schema)
    with pa.OSFile(str(path), "wb") as sink:
        writer = pq.ParquetWriter(
            sink,
            schema,
            compression="zstd",
            compression_level=zstd_level,
            use_dictionary=_DICT_COLUMNS,
            write_statistics=_STATS_COLUMNS,
            store_schema=True,
        )
        if table.num_rows:  # an empty night's shard has the schema and no row group
            writer.write_table(table, row_group_size=row_group_rows)
        writer.close()
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return {
        "file": path.name,
        "rows": table.num_rows,
        "tokens": int(pc.sum(table.column("n_tokens")).as_py() or 0),
        "row_groups": -(-table.num_rows // row_group_rows) if table.num_rows else 0,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def write_shards(
    docs: pl.LazyFrame,
    out: Path,
    *,
    work_dir: Path,
    shard_target_bytes: int,
    row_group_rows: int = 1000,
    zstd_level: int = 3,
    tokenizer: str = "gpt2",
    runner=None,
) -> list[dict]:
    """Write ``docs`` as sorted, token-counted zstd Parquet shards into ``out``.

    The documents are conformed to ``RELEASE_SCHEMA``, sorted by ``doc_id`` (streamed to a
    scratch file in ``work_dir``), then cut into shards of whole row groups of
    ``row_group_rows``, each closed once its text reaches ``shard_target_bytes``; each shard
    is one job on ``runner`` (default: here, one after another). ``n_tokens`` is the column
    ``document_signals`` counted; only documents without it are tokenized, in the same
    streaming pass that sorts them.
    """
    scratch = work_dir / f"sorted-{uuid.uuid4().hex}.parquet"
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        (
            conform(docs, RELEASE_SCHEMA)
            .select(*[c for c in RELEASE_SCHEMA if c != "n_tokens"], n_tokens_filled(tokenizer))
            .sort(["doc_id", "source_file", "source_line"], nulls_last=True, maintain_order=True)
            .sink_parquet(scratch, compression="lz4", row_group_size=row_group_rows)
        )
        plan = _block_plan(scratch, row_group_rows, shard_target_bytes)
        jobs = [
            (scratch, out / SHARD_PATTERN.format(i), offset, rows, row_group_rows, zstd_level)
            for i, (offset, rows) in enumerate(plan)
        ]
        if runner is None:
            return [write_one_shard(*job) for job in jobs]
        return runner.map(write_one_shard, jobs, label="release_shards")
    finally:
        scratch.unlink(missing_ok=True)


# --------------------------------------------------------------------------- staging
def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _readable(folder: Path) -> None:
    """Release folders are for other users and training jobs too: 0755, files 0644 (mkdtemp makes 0700)."""
    os.chmod(folder, 0o755)
    for p in folder.iterdir():
        os.chmod(p, 0o644)


@dataclass
class ReleaseStage:
    """A release being written in a hidden temp dir next to its final place.

    Use as a context manager: on any exception the temp dir is removed and nothing
    is published. ``commit`` writes the manifest and renames the dir into place.
    """

    root: Path
    dataset: str
    version: str
    tmp: Path = field(init=False)
    committed: Path | None = field(default=None, init=False)
    #: temp folders of crashed publishes removed when this one started
    cleaned: list[Path] = field(default_factory=list, init=False)

    @property
    def dataset_dir(self) -> Path:
        return self.root / self.dataset

    @property
    def final(self) -> Path:
        return self.dataset_dir / self.version

    def __enter__(self) -> ReleaseStage:
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        self.cleaned = remove_stale_temps(self.dataset_dir, self.version)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.version}.tmp-", dir=self.dataset_dir))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.committed is None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write_file(self, name: str, data: bytes | str) -> Path:
        if "/" in name or name.startswith("."):
            raise ReleaseError(f"release file name {name!r} must be a plain file name")
        p = self.tmp / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    def commit(self, manifest: dict) -> Path:
        """Record the other files' hashes in the manifest, write it, verify, and rename into place."""
        shard_files = {s["file"] for s in manifest.get("shards", [])}
        manifest = dict(manifest)
        manifest["files"] = {
            p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(self.tmp.iterdir())
            if p.is_file() and p.name not in shard_files and p.name != MANIFEST
        }
        self.write_file(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
        problems = verify_release(self.tmp)
        if problems:
            raise ReleaseError(
                f"{self.final}: not published, the manifest does not match the files:\n" + "\n".join(problems)
            )
        _readable(self.tmp)
        _fsync_dir(self.tmp)
        final = self.final
        if final.exists():
            # Swap atomically where the OS can; else move the old one aside first.
            if not _exchange(self.tmp, final):
                aside = self.dataset_dir / f".{self.version}.old-{uuid.uuid4().hex[:8]}"
                os.rename(final, aside)
                os.rename(self.tmp, final)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)  # tmp now holds the old release
        else:
            os.rename(self.tmp, final)
        _fsync_dir(self.dataset_dir)
        self.committed = final
        return final


#: another version's temp folder this old is a crashed publish, not one still running
STALE_AFTER_S = 6 * 3600


def remove_stale_temps(dataset_dir: Path, version: str, now: float | None = None) -> list[Path]:
    """Remove leftovers of crashed publishes: this version's always, other versions' once stale.

    Another night may be publishing right now (a backfill), so another version's temp
    folder goes only when it is older than ``STALE_AFTER_S``.
    """
    now = time.time() if now is None else now
    gone = []
    for p in sorted(dataset_dir.glob(".*")):
        if not p.is_dir() or not (".tmp-" in p.name or ".old-" in p.name):
            continue
        if p.name.startswith(f".{version}.") or now - p.stat().st_mtime > STALE_AFTER_S:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


# --------------------------------------------------------------------------- LATEST
def read_latest(dataset_dir: Path) -> str | None:
    f = dataset_dir / LATEST_FILE
    if not f.exists():
        return None
    v = f.read_text().strip()
    return v or None


def _order_key(dataset_dir: Path, version: str) -> tuple | None:
    m = dataset_dir / version / MANIFEST
    if not m.exists():
        return None
    man = json.loads(m.read_text())
    return (man.get("partition") or "", int(man.get("recipe", {}).get("version") or 0))


def move_latest(dataset_dir: Path, version: str) -> bool:
    """Point ``LATEST`` at ``version`` unless it already points at a newer night.

    Newer means a later partition, then a higher recipe version, so a backfill of an
    old night does not move it back. Returns whether it moved. The file is replaced
    atomically (write a temp file, then ``os.replace``).
    """
    new_key = _order_key(dataset_dir, version)
    if new_key is None:
        raise ReleaseError(f"{dataset_dir / version}: no such release, LATEST not moved")
    current = read_latest(dataset_dir)
    if current and current != version:
        cur_key = _order_key(dataset_dir, current)
        if cur_key is not None and cur_key > new_key:
            return False
    write_text_atomic(dataset_dir / LATEST_FILE, version + "\n", fsync=True)
    _fsync_dir(dataset_dir)
    return True


# --------------------------------------------------------------------------- verify
class ManifestError(ValueError):
    """A release whose manifest cannot be read; the message names the file."""


def shard_facts(f: Path) -> dict:
    """What a shard file really holds: existence, rows, bytes, sha256 and its n_tokens sum."""
    if not f.exists():
        return {
            "exists": False,
            "actual_rows": None,
            "actual_bytes": None,
            "actual_sha256": None,
            "actual_tokens": None,
        }
    rows = tokens = None
    try:
        pf = pq.ParquetFile(f)
        rows = pf.metadata.num_rows
        if "n_tokens" in pf.schema_arrow.names:
            tokens = int(pc.sum(pf.read(columns=["n_tokens"]).column("n_tokens")).as_py() or 0)
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError: not a readable Parquet file
        pass
    return {
        "exists": True,
        "actual_rows": rows,
        "actual_bytes": f.stat().st_size,
        "actual_sha256": sha256_file(f),
        "actual_tokens": tokens,
    }


def manifest_frame(release_dir: Path) -> tuple[dict, pl.DataFrame]:
    """The release manifest and one row per shard: the manifest's figures beside the file's.

    Files in the folder that the manifest does not list get a row with ``listed=False``.
    The one reading of a release that both ``verify_release`` and the Great Expectations
    manifest suite judge.
    """
    release_dir = Path(release_dir)
    mf = release_dir / MANIFEST
    if not mf.exists():
        raise ManifestError(f"{mf}: release manifest not found")
    try:
        manifest = json.loads(mf.read_text())
    except ValueError as exc:
        raise ManifestError(f"{mf}: not valid JSON: {exc}") from None
    rows = []
    listed = set()
    for shard in manifest.get("shards", []):
        name = str(shard.get("file"))
        listed.add(name)
        rows.append(
            {
                "file": name,
                "listed": True,
                "rows": shard.get("rows"),
                "bytes": shard.get("bytes"),
                "sha256": shard.get("sha256"),
                "tokens": shard.get("tokens"),
                **shard_facts(release_dir / name),
            }
        )
    for extra in sorted(p.name for p in release_dir.glob("*.parquet") if p.name not in listed):
        rows.append(
            {
                "file": extra,
                "listed": False,
                "rows": None,
                "bytes": None,
                "sha256": None,
                "tokens": None,
                **shard_facts(release_dir / extra),
            }
        )
    return manifest, pl.DataFrame(rows, schema=MANIFEST_FRAME_SCHEMA)


def _shard_problems(path: Path, row: dict) -> list[str]:
    f = path / row["file"]
    if not row["listed"]:
        return [f"{f}: shard not listed in the manifest"]
    if not row["exists"]:
        return [f"{f}: missing"]
    problems = []
    if row["actual_sha256"] != row["sha256"]:
        problems.append(f"{f}: sha256 differs from manifest")
    if row["bytes"] is not None and row["actual_bytes"] != row["bytes"]:
        problems.append(f"{f}: {row['actual_bytes']} bytes, manifest says {row['bytes']}")
    if row["actual_rows"] != row["rows"]:
        problems.append(f"{f}: {row['actual_rows']} rows, manifest says {row['rows']}")
    if row["tokens"] is not None and row["actual_tokens"] != row["tokens"]:
        problems.append(f"{f}: n_tokens sums to {row['actual_tokens']}, manifest says {row['tokens']}")
    return problems


def verify_release(path: Path) -> list[str]:
    """Problems found comparing ``manifest.json`` with the files (empty list: all good).

    Checks each shard's existence, sha256, bytes, rows and token sum, the totals, the
    other listed files' hashes, and that no unlisted shard lies in the folder.
    """
    path = Path(path)
    if not (path / MANIFEST).exists():
        return [f"{path / MANIFEST}: missing"]
    try:
        manifest, shards = manifest_frame(path)
    except ManifestError as exc:
        return [str(exc)]
    problems = [p for row in shards.iter_rows(named=True) for p in _shard_problems(path, row)]
    totals = manifest.get("totals", {})
    listed = manifest.get("shards", [])
    for key in ("rows", "bytes", "tokens"):
        if key in totals:
            s = sum(x.get(key, 0) for x in listed)
            if s != totals[key]:
                problems.append(f"{path}: shard {key} sum to {s}, totals say {totals[key]}")
    if "shards" in totals and totals["shards"] != len(listed):
        problems.append(f"{path}: {len(listed)} shards listed, totals say {totals['shards']}")
    for name, meta in manifest.get("files", {}).items():
        f = path / name
        if not f.exists():
            problems.append(f"{f}: missing")
        elif sha256_file(f) != meta["sha256"]:
            problems.append(f"{f}: sha256 differs from manifest")
    return problems
