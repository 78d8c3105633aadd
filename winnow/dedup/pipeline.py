"""One night of deduplication as a small map-reduce over files.

1. **map** (``signature_shards``): stream the documents in batches (bounded by
   ``batch_mb`` of text); per batch ("shard") write the document table (id,
   content hash, ranking columns), the MinHash signatures, and one bucket file per
   LSH band (``winnow.dedup.lsh``).
2. **reduce per band**: candidate pairs from each band's bucket files; exact pairs
   from equal content hashes; history pairs from the persisted index
   (``winnow.dedup.index``), excluding the night's own partition.
3. **verify**: a near-duplicate candidate is confirmed by the exact Jaccard
   similarity of the two shingle sets (``verify="exact"``: the texts of just the
   documents that have a candidate are shingled again), or by the share of equal
   signature values (``"signature"``; always for history pairs, whose text is not
   kept), or not at all (``"none"``, like datatrove).
4. **union-find** (``winnow.dedup.components``) over all pairs, then one document
   kept per cluster: a published (history) document if the cluster has one, else
   the best ``quality_score``, then the oldest ``created_at`` (nulls last), then the
   oldest ``ingested_at``, then the smallest ``doc_id``.

Nothing is held in memory for all documents except the clustered ones; the result
table is written to ``workdir`` and read back lazily.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import csr_matrix

from winnow.dedup.components import components
from winnow.dedup.hashing import to_hex
from winnow.dedup.index import SignatureIndex
from winnow.dedup.lsh import DEFAULT_BUCKET_HEAD, all_candidate_pairs, band_dir, write_band_buckets
from winnow.dedup.minhash import MinHasher, MinHashParams, estimated_jaccard
from winnow.dedup.shingles import shingle_hashes, tokenize
from winnow.execution.shards import plan_shards, shard_frame

RANK_COLUMNS = {
    "quality_score": pl.Float64,
    "created_at": pl.Datetime("us", "UTC"),
    "ingested_at": pl.Datetime("us", "UTC"),
}
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class DedupSettings:
    exact: bool = True
    minhash: bool = True
    params: MinHashParams = MinHashParams()
    verify: str = "exact"  # exact | signature | none
    threshold: float = 0.8
    signature_threshold: float = 0.75
    bucket_head: int = DEFAULT_BUCKET_HEAD
    against_history: bool = True
    batch_mb: float = 8.0
    workers: int = 1  # map processes; 1 = in this process, two shards at a time on threads
    threads: int | None = None  # numpy threads per MinHash call

    @classmethod
    def from_config(cls, cfg, *, batch_mb: float = 8.0, workers: int = 1) -> DedupSettings:
        """From a ``schemas.recipe.DedupConfig`` and the operational batch size and workers."""
        m = cfg.minhash
        return cls(
            exact=cfg.exact,
            minhash=m.enabled,
            params=MinHashParams.from_config(m),
            verify=m.verify,
            threshold=m.threshold,
            signature_threshold=m.signature_threshold,
            bucket_head=m.bucket_head,
            against_history=cfg.against_history,
            batch_mb=batch_mb,
            workers=workers,
        )


@dataclass
class DedupOutcome:
    """Per-document results (lazy, backed by files in the work directory) and run statistics."""

    results: pl.LazyFrame  # doc_id, content_hash, dup_cluster_id, dup_cluster_size, dup_of, dup_kind
    signatures: pl.LazyFrame  # doc_id, content_hash (u64), signature: kept documents only
    stats: dict = field(default_factory=dict)


class DuplicateDocIdError(ValueError):
    pass


def iter_text_batches(docs: pl.LazyFrame, batch_mb: float, rows: int = 1_000):
    """Batches of ``docs`` with at most ``batch_mb`` of text each (a bigger single document is its own batch).

    Rows are pulled from the streaming engine ``rows`` at a time, so no more than
    about one batch plus ``rows`` documents is in memory.
    """
    limit = max(int(batch_mb * 1e6), 1)
    pending: list[pl.DataFrame] = []
    pending_bytes = 0

    def cut(frame: pl.DataFrame, final: bool):
        sizes = frame.get_column("text").str.len_bytes().fill_null(0).to_numpy()
        cum = np.cumsum(sizes)
        start = 0
        while start < frame.height:
            base = cum[start - 1] if start else 0
            if not final and cum[-1] - base < limit:
                return frame.slice(start)  # not a full batch yet: keep for the next rows
            end = max(int(np.searchsorted(cum, base + limit, side="right")), start + 1)
            yield frame.slice(start, end - start)
            start = end
        return None

    for df in docs.collect_batches(chunk_size=rows):
        if df.height == 0:
            continue
        pending.append(df)
        pending_bytes += int(df.get_column("text").str.len_bytes().fill_null(0).sum())
        if pending_bytes >= limit:
            rest = yield from cut(pl.concat(pending), final=False)
            pending = [rest] if rest is not None and rest.height else []
            pending_bytes = int(pending[0].get_column("text").str.len_bytes().fill_null(0).sum()) if pending else 0
    if pending:
        yield from cut(pl.concat(pending), final=True)


def _rank_frame(df: pl.DataFrame) -> pl.DataFrame:
    cols = []
    for name, dtype in RANK_COLUMNS.items():
        if name in df.columns:
            col = pl.col(name).cast(dtype)  # type: ignore[arg-type]
            cols.append(col.fill_nan(None).alias(name) if name == "quality_score" else col.alias(name))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))  # type: ignore[arg-type]
    return df.with_columns(cols).select(list(RANK_COLUMNS))


_HASHERS: dict = {}


def _hasher(params: MinHashParams, threads: int | None) -> MinHasher:
    """One MinHasher per parameter set and process (worker processes keep theirs between shards)."""
    key = (params, threads)
    if key not in _HASHERS:
        _HASHERS[key] = MinHasher(params, threads=threads)
    return _HASHERS[key]


def map_shard(
    workdir: Path, shard: int, start: int, batch: pl.DataFrame, settings: DedupSettings, threads: int | None
) -> int:
    """The map step for one shard: its document table, signatures and band bucket files. Returns its text bytes."""
    hasher = _hasher(settings.params, threads)
    name = f"shard-{shard:06d}"
    idx = np.arange(start, start + batch.height, dtype=np.int64)
    texts = batch.get_column("text")
    sb = hasher.compute(texts, skip_exact_repeats=settings.exact) if settings.minhash else None
    if sb is None:  # exact only: the content hash needs the tokens, not the signature
        from winnow.dedup.shingles import content_hashes

        tokens = tokenize(texts)
        chash, ntok, has = content_hashes(tokens), tokens.counts, np.zeros(batch.height, bool)
    else:
        chash, ntok, has = sb.content_hash, sb.n_tokens, sb.has_signature
    table = pl.DataFrame(
        {
            "idx": idx,
            "doc_id": batch.get_column("doc_id").cast(pl.String),
            "content_hash": pl.Series(chash, dtype=pl.UInt64),
            "n_tokens": pl.Series(ntok, dtype=pl.Int64),
            "has_signature": pl.Series(has, dtype=pl.Boolean),
        }
    ).hstack(_rank_frame(batch))
    table.write_parquet(workdir / "docs" / f"{name}.parquet", compression="lz4")
    if sb is not None and has.any():
        sel = np.flatnonzero(has)
        pl.DataFrame({"idx": idx[sel], "signature": sb.signature[sel]}).write_parquet(
            workdir / "sigs" / f"{name}.parquet", compression="lz4"
        )
        write_band_buckets(workdir / "buckets", name, idx[sel], hasher.band_keys(sb.signature[sel]))
    return int(texts.str.len_bytes().fill_null(0).sum())


def _workers(settings: DedupSettings) -> int:
    return max(1, settings.workers or 1)


def _parallel(fn, jobs, workers: int, threads: int | None):
    """``fn(*job, threads)`` for every job, results in job order.

    ``workers == 1``: two jobs at a time on threads of this process (numpy and
    polars release the GIL for most of the work; lowest memory). ``workers > 1``:
    the first job here, the others on ``workers`` spawned processes (no shared GIL,
    about 300 MB more memory each), at most two per worker in flight.
    """
    results, in_flight, pool = [], [], None
    lanes = min(2, os.cpu_count() or 1) if workers == 1 else 2 * workers
    try:
        for i, job in enumerate(jobs):
            if pool is None and workers > 1 and i == 0:
                results.append(fn(*job, threads))
                continue
            if pool is None:
                if workers > 1:
                    import multiprocessing

                    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
                else:
                    pool = ThreadPoolExecutor(lanes)  # type: ignore[assignment]
            in_flight.append(pool.submit(fn, *job, 1 if workers > 1 else threads))  # type: ignore[call-arg]
            while len(in_flight) >= lanes:
                results.append(in_flight.pop(0).result())
        results.extend(f.result() for f in in_flight)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results


def _map_planned_shard(
    workdir: Path, shard: int, start: int, frame: pl.LazyFrame, settings: DedupSettings, threads: int | None
) -> int:
    """``map_shard`` for a task that reads its own rows (a remote runner's job)."""
    return map_shard(workdir, shard, start, frame.collect(), settings, threads)


def _remote_signature_shards(
    docs: pl.LazyFrame, workdir: Path, settings: DedupSettings, runner, source, wanted: list[str]
) -> tuple[int, int, int]:
    """The map on a remote runner: the driver plans row ranges from text lengths, each task reads its own."""
    src, where = source if source is not None else (docs, None)
    shards = plan_shards(src, settings.batch_mb, where)
    jobs = [(workdir, s.index, s.start, shard_frame(src, s, where).select(wanted), settings, 1) for s in shards]
    text_bytes = sum(runner.map(_map_planned_shard, jobs, label="dedup_map"))
    return sum(s.kept for s in shards), len(shards), text_bytes


def signature_shards(docs: pl.LazyFrame, workdir: Path, settings: DedupSettings, runner=None, source=None) -> dict:
    """The map step over all shards, writing ``docs/``, ``sigs/`` and ``buckets/band_*/`` in ``workdir``.

    Shards run in parallel (``_parallel``: ``settings.workers`` spawned processes).
    """
    names = docs.collect_schema().names()
    if "doc_id" not in names or "text" not in names:
        raise ValueError(f"deduplication needs columns doc_id and text; got {names}")
    wanted = ["doc_id", "text", *[c for c in RANK_COLUMNS if c in names]]
    (workdir / "docs").mkdir(parents=True, exist_ok=True)
    (workdir / "sigs").mkdir(parents=True, exist_ok=True)
    if runner is not None and runner.remote:
        n, shards, text_bytes = _remote_signature_shards(docs, workdir, settings, runner, source, wanted)
        return {"documents": n, "shards": shards, "text_bytes": text_bytes, "map_workers": runner.name}
    workers = _workers(settings)
    counts = {"documents": 0, "shards": 0}

    def numbered():
        for shard, batch in enumerate(iter_text_batches(docs.select(wanted), settings.batch_mb)):
            yield (workdir, shard, counts["documents"], batch, settings)
            counts["documents"] += batch.height
            counts["shards"] += 1

    text_bytes = sum(_parallel(map_shard, numbered(), workers, settings.threads))
    n, shards = counts["documents"], counts["shards"]
    return {"documents": n, "shards": shards, "text_bytes": text_bytes, "map_workers": workers}


def _docs(workdir: Path) -> pl.LazyFrame:
    files = sorted((workdir / "docs").glob("*.parquet"))
    return pl.scan_parquet(files)


def _load_signatures(workdir: Path, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted idx, signature matrix) for the requested documents."""
    files = sorted((workdir / "sigs").glob("*.parquet"))
    if not files or idx.size == 0:
        return np.empty(0, np.int64), np.empty((0, k), np.uint64)
    wanted = pl.Series(np.unique(idx))
    df = pl.scan_parquet(files).filter(pl.col("idx").is_in(wanted.implode())).sort("idx").collect()
    return df.get_column("idx").to_numpy(), df.get_column("signature").to_numpy().reshape(-1, k)


def _rows(sorted_idx: np.ndarray, idx: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_idx, idx)
    if idx.size and (
        pos.max(initial=0) >= len(sorted_idx) or not (sorted_idx[np.minimum(pos, len(sorted_idx) - 1)] == idx).all()
    ):
        raise RuntimeError("dedup: a candidate document has no stored signature (corrupt work directory?)")
    return pos


def spill_shard(
    path: Path,
    part: int,
    start: int,
    batch: pl.DataFrame,
    ids: pl.DataFrame,
    params: MinHashParams,
    threads: int | None,
) -> int:
    """Sorted unique shingles of one batch of the documents to verify, to ``path/part-NNNNNN.parquet``."""
    hasher = _hasher(params, threads)
    batch = batch.join(ids, on="doc_id", how="inner", maintain_order="left")
    texts = batch.get_column("text")
    tokens = tokenize(texts)
    sh = shingle_hashes(tokens, hasher.ngram_sizes(texts, tokens))
    doc = np.repeat(np.arange(batch.height, dtype=np.int64), np.diff(sh.offsets))
    order = np.lexsort((sh.hashes, doc))
    h, d = sh.hashes[order], doc[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
    h, d = h[first], d[first]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(d, minlength=batch.height))]).astype(np.int64)
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(h, type=pa.uint64()))
    pq.write_table(
        pa.table({"idx": pa.array(batch.get_column("idx").to_numpy()), "shingles": lists}),
        path / f"part-{part:06d}.parquet",
        compression="lz4",
    )
    return batch.height


def _spill_shingle_sets(docs: pl.LazyFrame, ids: pl.DataFrame, settings: DedupSettings, path: Path) -> None:
    """One scan of the input: the sorted unique shingles of the documents ``ids`` (idx, doc_id) to ``path/``."""
    path.mkdir(parents=True, exist_ok=True)
    wanted = docs.select("doc_id", "text").filter(pl.col("doc_id").is_in(ids.get_column("doc_id").implode()))
    jobs = ((path, i, 0, b, ids, settings.params) for i, b in enumerate(iter_text_batches(wanted, settings.batch_mb)))
    _parallel(spill_shard, jobs, _workers(settings), settings.threads)


def _block_jaccard(spill: Path, members: list[int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact Jaccard of pairs (a, b) from the spilled shingle sets of ``members``."""
    rows = (
        pl.scan_parquet(sorted(spill.glob("*.parquet")))
        .filter(pl.col("idx").is_in(pl.Series(members, dtype=pl.Int64).implode()))
        .collect()
    )
    row_idx = rows.get_column("idx").to_numpy()
    lens = rows.get_column("shingles").list.len().to_numpy()
    hashes = rows.get_column("shingles").explode().to_numpy() if lens.sum() else np.empty(0, np.uint64)
    doc_rows = np.repeat(np.arange(len(row_idx), dtype=np.int64), lens)
    vocab, col = np.unique(hashes, return_inverse=True)
    del hashes
    m = csr_matrix((np.ones(len(doc_rows), dtype=np.float32), (doc_rows, col)), shape=(len(row_idx), len(vocab)))
    sizes = lens.astype(np.float64)  # the spilled sets are already unique
    order = np.argsort(row_idx)
    ra = order[np.searchsorted(row_idx[order], a)]
    rb = order[np.searchsorted(row_idx[order], b)]
    out = np.empty(len(ra), dtype=np.float64)
    # pairs in steps of at most ~2 M gathered shingles, so the row copies stay small
    cost = np.cumsum(sizes[ra] + sizes[rb])
    bounds = np.unique(
        np.concatenate([[0], np.searchsorted(cost, np.arange(2e6, cost[-1] if len(cost) else 0, 2e6)), [len(ra)]])
    )
    for s, e in zip(bounds[:-1], bounds[1:]):
        e = max(e, s + 1)
        inter = np.asarray(m[ra[s:e]].multiply(m[rb[s:e]]).sum(axis=1)).ravel()
        union = sizes[ra[s:e]] + sizes[rb[s:e]] - inter
        out[s:e] = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return out


def exact_pair_jaccard(
    docs: pl.LazyFrame, doc_lf: pl.LazyFrame, pairs: pl.DataFrame, settings: DedupSettings, workdir: Path
) -> np.ndarray:
    """Exact shingle-set Jaccard of each candidate pair (a, b), from the texts of the documents involved.

    One more scan of the input shingles just the documents that have a candidate
    and spills their sorted shingle sets to ``workdir`` (8 bytes per shingle). Pairs
    are then taken in blocks whose documents hold at most about ``batch_mb`` × 0.6 M
    shingles: a sparse document × shingle matrix per block, each pair's
    intersection a row-wise product. Memory stays bounded however many documents
    have candidates.
    """
    a_all = pairs.get_column("a").to_numpy()
    b_all = pairs.get_column("b").to_numpy()
    involved = np.unique(np.concatenate([a_all, b_all]))
    info = (
        doc_lf.filter(pl.col("idx").is_in(pl.Series(involved).implode()))
        .select("idx", "doc_id", "n_tokens")
        .sort("idx")
        .collect()
    )
    spill = workdir / "verify_shingles"
    _spill_shingle_sets(docs, info.select("idx", "doc_id"), settings, spill)
    ntok = dict(zip(info.get_column("idx").to_list(), info.get_column("n_tokens").to_list()))
    budget = max(int(settings.batch_mb * 0.6e6), 1)
    out = np.empty(len(a_all), dtype=np.float64)
    start = 0
    while start < len(a_all):
        members: set[int] = set()
        tokens = 0
        end = start
        while end < len(a_all):
            new = {int(a_all[end]), int(b_all[end])} - members
            extra = sum(ntok[x] for x in new)
            if members and tokens + extra > budget:
                break
            members |= new
            tokens += extra
            end += 1
        out[start:end] = _block_jaccard(spill, sorted(members), a_all[start:end], b_all[start:end])
        start = end
    return out


def run_dedup(
    docs: pl.LazyFrame,
    settings: DedupSettings,
    workdir: Path,
    index: SignatureIndex | None = None,
    partition: str | None = None,
    runner=None,
    source: tuple[pl.LazyFrame, pl.Expr] | None = None,
) -> DedupOutcome:
    """Deduplicate ``docs`` (doc_id, text, optional quality_score/created_at/ingested_at).

    Phases: map (signatures and bucket files per shard), pairs (exact, near, history),
    cluster (union-find and the kept document per cluster), write (the result files).
    ``workdir`` is emptied first and holds the intermediate and result files; keep it
    until the returned lazy frames have been consumed. On a remote ``runner`` (Ray) the map
    runs one task per shard and the reduce one task per band; ``source`` is then the
    stored table and the filter that gives ``docs`` (tasks slice the stored file, not a
    filtered stream). The outcome does not depend on the runner.
    """
    t0 = time.perf_counter()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    stats = signature_shards(docs, workdir, settings, runner, source)
    stats["seconds_map"] = round(time.perf_counter() - t0, 3)
    n = stats["documents"]
    if not n:
        out, sig_out = _empty_outcome(settings.params.num_perm)
        stats["seconds_total"] = round(time.perf_counter() - t0, 3)
        return DedupOutcome(out, sig_out, stats)
    doc_lf = _docs(workdir)
    _check_unique_ids(doc_lf)

    t1 = time.perf_counter()
    edges = _tonight_edges(docs, doc_lf, settings, workdir, stats, runner)
    hist_nodes = pl.DataFrame(schema={"node": pl.Int64, "hist_doc_id": pl.String, "hist_partition": pl.String})
    if index is not None and settings.against_history:
        hist_edges, hist_nodes = _history_edges(index, doc_lf, settings, workdir, partition, n, stats)
        edges += hist_edges
    stats["seconds_pairs"] = round(time.perf_counter() - t1, 3)

    t2 = time.perf_counter()
    decided = _decide(edges, doc_lf, hist_nodes, n)
    stats["seconds_cluster"] = round(time.perf_counter() - t2, 3)

    out, sig_out = _write_outcome(doc_lf, decided, workdir, settings.params.num_perm)
    stats["seconds_total"] = round(time.perf_counter() - t0, 3)
    return DedupOutcome(out, sig_out, stats)


def _check_unique_ids(doc_lf: pl.LazyFrame) -> None:
    dup_ids = doc_lf.group_by("doc_id").agg(pl.len()).filter(pl.col("len") > 1).sort("doc_id").head(5).collect()
    if dup_ids.height:
        raise DuplicateDocIdError(
            f"deduplication input has repeated doc_id values (each document must appear once), e.g. "
            f"{dup_ids.get_column('doc_id').to_list()}"
        )


def _tonight_edges(
    docs: pl.LazyFrame, doc_lf: pl.LazyFrame, settings: DedupSettings, workdir: Path, stats: dict, runner=None
) -> list[pl.DataFrame]:
    """Exact and near pairs within the night: (a, b, kind), a and b node ids."""
    k = settings.params.num_perm
    edges = []
    # exact pairs: every member of a content-hash group to the group's first document
    if settings.exact:
        exact = (
            doc_lf.select("idx", "content_hash")
            .with_columns(root=pl.col("idx").min().over("content_hash"))
            .filter(pl.col("idx") != pl.col("root"))
            .collect()
        )
        edges.append(exact.select(a="root", b="idx", kind=pl.lit("exact")))
        stats["exact_pairs"] = exact.height
    # near pairs: per band, from the bucket files; verified against the signatures
    if settings.minhash:
        pairs = all_candidate_pairs(workdir / "buckets", settings.params.bands, settings.bucket_head, runner)
        stats["candidate_pairs"] = pairs.height
        if settings.exact and pairs.height:  # exact duplicates are linked already: nothing to verify
            hashes = doc_lf.select("idx", "content_hash").collect()
            pairs = (
                pairs.join(hashes.rename({"idx": "a", "content_hash": "ha"}), on="a")
                .join(hashes.rename({"idx": "b", "content_hash": "hb"}), on="b")
                .filter(pl.col("ha") != pl.col("hb"))
                .select("a", "b")
            )
        if settings.verify == "signature" and pairs.height:
            a = pairs.get_column("a").to_numpy()
            b = pairs.get_column("b").to_numpy()
            sidx, sig = _load_signatures(workdir, np.concatenate([a, b]), k)
            est = estimated_jaccard(sig[_rows(sidx, a)], sig[_rows(sidx, b)])
            pairs = pairs.filter(pl.Series(est >= settings.signature_threshold))
        elif settings.verify == "exact" and pairs.height:
            j = exact_pair_jaccard(docs, doc_lf, pairs, settings, workdir)
            pairs = pairs.filter(pl.Series(j >= settings.threshold))
        stats["near_pairs"] = pairs.height
        edges.append(pairs.with_columns(kind=pl.lit("near")))
    return edges


def _history_edges(
    index: SignatureIndex,
    doc_lf: pl.LazyFrame,
    settings: DedupSettings,
    workdir: Path,
    partition: str | None,
    n: int,
    stats: dict,
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Tonight against the published index of earlier nights (not its own, not later ones).

    History documents become nodes numbered from ``n``; returns their edges and the nodes.
    """
    k = settings.params.num_perm
    hist_nodes = pl.DataFrame(schema={"node": pl.Int64, "hist_doc_id": pl.String, "hist_partition": pl.String})
    found = []
    tonight = doc_lf.select(doc="idx", content_hash="content_hash").collect()
    if settings.exact:
        found.append(index.lookup_exact(tonight, before=partition).with_columns(kind=pl.lit("exact")))
    if settings.minhash:
        near = []
        for band in range(settings.params.bands):
            files = sorted(band_dir(workdir / "buckets", band).glob("*.parquet"))
            if files:
                near.append(index.lookup_band(band, pl.read_parquet(files), before=partition))
        near_df = pl.concat(near).unique() if near else None
        if near_df is not None and near_df.height and settings.verify != "none":
            keys, hsig = index.signatures(near_df.select("hist_doc_id", "hist_partition").unique())
            keyed = keys.with_row_index("_h")
            near_df = near_df.join(keyed, on=["hist_doc_id", "hist_partition"], how="inner")
            d = near_df.get_column("doc").to_numpy()
            sidx, sig = _load_signatures(workdir, d, k)
            est = estimated_jaccard(sig[_rows(sidx, d)], hsig[near_df.get_column("_h").to_numpy()])
            near_df = near_df.filter(pl.Series(est >= settings.signature_threshold)).drop("_h")
        if near_df is not None:
            found.append(near_df.with_columns(kind=pl.lit("near")))
    if not found:
        return [], hist_nodes
    hist = pl.concat(found).unique(["doc", "hist_doc_id", "hist_partition"], keep="first")
    hist_nodes = (
        hist.select("hist_doc_id", "hist_partition")
        .unique()
        .sort(["hist_partition", "hist_doc_id"])
        .with_row_index("node", offset=n)
        .with_columns(pl.col("node").cast(pl.Int64))
    )
    hist = hist.join(hist_nodes, on=["hist_doc_id", "hist_partition"])
    stats["history_pairs"] = hist.height
    return [hist.select(a="doc", b="node", kind=pl.lit("history"))], hist_nodes


def _decide(edges: list[pl.DataFrame], doc_lf: pl.LazyFrame, hist_nodes: pl.DataFrame, n: int) -> pl.DataFrame:
    """Union-find over the pairs and the kept document per cluster: idx, dup_cluster_id/size, dup_of, dup_kind."""
    edge_cols = [pl.col("a").cast(pl.Int64), pl.col("b").cast(pl.Int64), pl.col("kind").cast(pl.String)]
    all_edges = (
        pl.concat([e.select(edge_cols) for e in edges])
        if edges
        else pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64, "kind": pl.String})
    )
    nodes, roots = components(all_edges.get_column("a").to_numpy(), all_edges.get_column("b").to_numpy())
    comp = pl.DataFrame({"idx": nodes, "comp": roots})
    members = comp.filter(pl.col("idx") < n)
    clustered = (
        doc_lf.join(members.lazy(), on="idx").collect()
        if members.height
        else pl.DataFrame(
            schema={"idx": pl.Int64, "doc_id": pl.String, "content_hash": pl.UInt64, "comp": pl.Int64, **RANK_COLUMNS}  # type: ignore[dict-item]
        )
    )
    hist_members = comp.filter(pl.col("idx") >= n).rename({"idx": "node"}).join(hist_nodes, on="node")
    sizes = comp.group_by("comp").agg(dup_cluster_size=pl.len())
    # a published document wins: the oldest partition, then the smallest doc_id
    hist_kept = (
        hist_members.sort(["hist_partition", "hist_doc_id"])
        .group_by("comp", maintain_order=True)
        .first()
        .select("comp", kept_id="hist_doc_id", kept_hash=pl.lit(None, dtype=pl.UInt64), from_history=pl.lit(True))
    )
    local_kept = (
        clustered.sort(
            ["comp", "quality_score", "created_at", "ingested_at", "doc_id"],
            descending=[False, True, False, False, False],
            nulls_last=True,
        )
        .group_by("comp", maintain_order=True)
        .first()
        .select("comp", kept_id="doc_id", kept_hash="content_hash", from_history=pl.lit(False))
        .join(hist_kept.select("comp"), on="comp", how="anti")
    )
    kept = pl.concat([hist_kept, local_kept])
    decided = (
        clustered.join(kept, on="comp")
        .join(sizes, on="comp")
        .select(
            "idx",
            dup_cluster_id="kept_id",
            dup_cluster_size=pl.col("dup_cluster_size").cast(pl.Int64),
            dup_of=pl.when(pl.col("kept_id") != pl.col("doc_id")).then(pl.col("kept_id")),
            dup_kind=pl.when(pl.col("from_history"))
            .then(pl.lit("history"))
            .when(pl.col("kept_id") == pl.col("doc_id"))
            .then(None)
            .when(pl.col("content_hash") == pl.col("kept_hash"))
            .then(pl.lit("exact"))
            .otherwise(pl.lit("near")),
        )
    )
    return decided


def _write_outcome(
    doc_lf: pl.LazyFrame, decided: pl.DataFrame, workdir: Path, k: int
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Write the per-document results and the kept documents' signatures; lazy scans of both."""
    results_path = workdir / "results.parquet"
    results = doc_lf.join(decided.lazy(), on="idx", how="left", maintain_order="left").select(
        "idx",
        "doc_id",
        content_hash=pl.col("content_hash").map_batches(
            lambda s: pl.Series(to_hex(s.to_numpy()), dtype=pl.String), return_dtype=pl.String
        ),
        content_hash_u64="content_hash",
        dup_cluster_id=pl.coalesce("dup_cluster_id", "doc_id"),
        dup_cluster_size=pl.col("dup_cluster_size").fill_null(1),
        dup_of="dup_of",
        dup_kind="dup_kind",
    )
    results.sink_parquet(results_path, compression="lz4")
    # the kept documents' signatures, one signature shard at a time: a join against all of them at
    # once would hold every signature of the night (112 x 8 bytes a document) in one hash table
    kept = (
        pl.scan_parquet(results_path)
        .filter(pl.col("dup_of").is_null())
        .select("idx", "doc_id", content_hash="content_hash_u64")
    )
    sigs_dir = workdir / "kept_signatures"
    shutil.rmtree(sigs_dir, ignore_errors=True)  # a reused work directory: no stale parts
    sigs_dir.mkdir(parents=True)
    no_signature = pl.lit(None, dtype=pl.Array(pl.UInt64, k)).alias("signature")
    for i, docs_file in enumerate(sorted((workdir / "docs").glob("*.parquet"))):  # a shard's idx are contiguous
        lo, hi = (
            pl.scan_parquet(docs_file).select(pl.col("idx").min(), pl.col("idx").max().alias("hi")).collect().row(0)
        )
        part = kept.filter(pl.col("idx").is_between(lo, hi))
        sig_file = workdir / "sigs" / docs_file.name
        if sig_file.exists():
            part = part.join(pl.scan_parquet(sig_file), on="idx", how="left", maintain_order="left")
        else:
            part = part.with_columns(no_signature)
        part.drop("idx").sink_parquet(sigs_dir / f"part-{i:06d}.parquet", compression="zstd")
    out = pl.scan_parquet(results_path).drop("idx", "content_hash_u64")
    parts = sorted(sigs_dir.glob("part-*.parquet"))
    sig_out = pl.scan_parquet(parts) if parts else kept.with_columns(no_signature).drop("idx")
    return out, sig_out


def _empty_outcome(k: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    out = pl.LazyFrame(
        schema={
            "doc_id": pl.String,
            "content_hash": pl.String,
            "dup_cluster_id": pl.String,
            "dup_cluster_size": pl.Int64,
            "dup_of": pl.String,
            "dup_kind": pl.String,
        }
    )
    return out, pl.LazyFrame(
        schema={"doc_id": pl.String, "content_hash": pl.UInt64, "signature": pl.Array(pl.UInt64, k)}
    )


def dedup_frames(docs: pl.LazyFrame, outcome: DedupOutcome) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(kept documents with content_hash/dup_cluster_id/dup_cluster_size, removed ones with dup_of/dup_kind too)."""
    res = outcome.results
    names = docs.collect_schema().names()
    base = docs.drop(
        [c for c in ("content_hash", "dup_cluster_id", "dup_cluster_size", "dup_of", "dup_kind") if c in names]
    )
    joined = base.join(res, on="doc_id", how="inner", maintain_order="left")
    kept = joined.filter(pl.col("dup_of").is_null()).drop("dup_of", "dup_kind")
    dups = joined.filter(pl.col("dup_of").is_not_null())
    return kept, dups
