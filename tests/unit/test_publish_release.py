"""Release writer: deterministic shards, manifest verification, atomic staging, LATEST."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from winnow.publish.release import (
    LATEST_FILE,
    ReleaseError,
    ReleaseStage,
    code_version,
    fingerprint_files,
    move_latest,
    read_latest,
    sha256_file,
    verify_release,
    write_shards,
)
from winnow.tokens import count_tokens


def _docs(n: int = 1200, seed: int = 0) -> pl.DataFrame:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]
    texts = [" ".join(words[(i * 7 + j + seed) % len(words)] for j in range(20 + i % 90)) + f" #{i}" for i in range(n)]
    return pl.DataFrame(
        {
            "doc_id": [f"doc-{(i * 7919) % n:06d}" for i in range(n)],
            "text": texts,
            "source": ["web" if i % 3 else "docs" for i in range(n)],
            "lang": ["en"] * n,
            "partition": ["2026-11-24"] * n,
            "ingested_at": [None] * n,  # run-dependent columns are not published
            "signal_x": list(range(n)),  # nor are signals
        }
    )


def _write(docs: pl.LazyFrame, out: Path, **kw) -> list[dict]:
    out.mkdir(parents=True)
    return write_shards(
        docs, out, work_dir=out.parent / "work", **{"shard_target_bytes": 20_000, "row_group_rows": 100, **kw}
    )


def test_shards_are_sorted_token_counted_and_cut_at_the_target_size(tmp_path):
    docs = _docs()
    shards = _write(docs.lazy(), tmp_path / "r", shard_target_bytes=6_000)
    assert len(shards) > 2
    back = pl.read_parquet([tmp_path / "r" / s["file"] for s in shards])
    # whole row groups of 100, each shard closed once its text reaches the target
    text = [pl.read_parquet(tmp_path / "r" / s["file"])["text"].str.len_bytes().sum() for s in shards]
    assert all(t >= 6_000 for t in text[:-1]) and all(s["rows"] % 100 == 0 for s in shards[:-1])
    assert back.columns[-1] == "n_tokens" and "ingested_at" not in back.columns and "signal_x" not in back.columns
    assert back["doc_id"].to_list() == sorted(docs["doc_id"].to_list())
    assert back["n_tokens"].to_list() == count_tokens(back["text"].to_list())
    assert sum(s["rows"] for s in shards) == docs.height
    for s in shards:
        md = pq.ParquetFile(tmp_path / "r" / s["file"]).metadata
        sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        assert all(x == 100 for x in sizes[:-1]) and s["row_groups"] == md.num_row_groups
        assert md.row_group(0).column(1).compression == "ZSTD"
        assert set(md.metadata) == {b"ARROW:schema"}  # no timestamps or writer-specific keys


def test_equal_inputs_give_byte_identical_shards_whatever_the_input_order(tmp_path):
    docs = _docs()
    a = _write(docs.lazy(), tmp_path / "a")
    shuffled = pl.concat(
        [docs.sample(fraction=1.0, shuffle=True, seed=5).slice(i, 77) for i in range(0, docs.height, 77)]
    )
    b = _write(shuffled.lazy(), tmp_path / "b")
    assert [(s["file"], s["sha256"]) for s in a] == [(s["file"], s["sha256"]) for s in b]
    for s in a:
        assert (tmp_path / "a" / s["file"]).read_bytes() == (tmp_path / "b" / s["file"]).read_bytes()


def test_shards_written_in_parallel_processes_equal_the_ones_written_in_turn(tmp_path):
    from winnow.execution import LocalRunner

    docs = _docs()
    a = _write(docs.lazy(), tmp_path / "a", shard_target_bytes=6_000)
    runner = LocalRunner(workers=2)
    b = _write(docs.lazy(), tmp_path / "b", shard_target_bytes=6_000, runner=runner)
    assert len(a) > 2 and a == b  # file, rows, tokens, bytes and sha256 of every shard
    assert len(runner.reports["release_shards"]) == len(a)


def test_carried_token_counts_give_the_same_shards_and_gaps_are_counted(tmp_path):
    """document_signals carries n_tokens: the writer reads it (no second tokenization, #17), its shards
    are byte-identical to counting at publish time, and a document without a count is still counted."""
    docs = _docs()
    counted = _write(docs.lazy(), tmp_path / "counted")
    carried = docs.with_columns(n_tokens=pl.Series(count_tokens(docs["text"].to_list())))
    a = _write(carried.lazy(), tmp_path / "carried")
    assert [s["sha256"] for s in a] == [s["sha256"] for s in counted]
    marked = carried.with_columns(
        n_tokens=pl.when(pl.col("doc_id") == "doc-000001").then(None).otherwise(pl.lit(5, pl.Int64))
    )
    b = _write(marked.lazy(), tmp_path / "marked")
    back = pl.read_parquet([tmp_path / "marked" / s["file"] for s in b])
    gap = back.filter(pl.col("doc_id") == "doc-000001")
    assert gap["n_tokens"].item() == count_tokens(gap["text"].to_list())[0] != 5
    assert back.filter(pl.col("doc_id") != "doc-000001")["n_tokens"].unique().to_list() == [5]  # read, not redone


def test_an_empty_night_still_gets_one_loadable_shard(tmp_path):
    shards = _write(_docs(0).lazy(), tmp_path / "r")
    assert [(s["rows"], s["tokens"]) for s in shards] == [(0, 0)]
    assert pl.read_parquet(tmp_path / "r" / shards[0]["file"]).columns[0] == "doc_id"


def _stage_release(root: Path, version: str, docs: pl.DataFrame, partition: str = "2026-11-24") -> Path:
    with ReleaseStage(root, "ds", version) as st:
        shards = write_shards(
            docs.lazy(), st.tmp, work_dir=root / "work", shard_target_bytes=20_000, row_group_rows=100
        )
        st.write_file("README.md", "# card\n")
        totals = {k: sum(s[k] for s in shards) for k in ("rows", "bytes", "tokens")} | {"shards": len(shards)}
        return st.commit(
            {"version": version, "partition": partition, "recipe": {"version": 1}, "shards": shards, "totals": totals}
        )


def test_verify_release_finds_every_kind_of_mismatch(tmp_path):
    path = _stage_release(tmp_path, "2026-11-24-v1", _docs())
    assert verify_release(path) == []
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["files"]["README.md"]["sha256"] == sha256_file(path / "README.md")
    first = path / manifest["shards"][0]["file"]
    data = bytearray(first.read_bytes())
    data[100] ^= 0xFF
    first.write_bytes(bytes(data))
    (path / "part-99999.parquet").write_bytes(b"x")
    (path / "README.md").write_text("# edited\n")
    last = path / manifest["shards"][-1]["file"]
    last.unlink()
    problems = "\n".join(verify_release(path))
    assert f"{first}: sha256 differs" in problems
    assert f"{last}: missing" in problems
    assert "part-99999.parquet: shard not listed" in problems
    assert "README.md: sha256 differs" in problems


def test_commit_refuses_a_manifest_that_does_not_match(tmp_path):
    with pytest.raises(ReleaseError, match="(?s)not published.*50 rows, manifest says 51"):
        with ReleaseStage(tmp_path, "ds", "v") as st:
            shards = write_shards(_docs(50).lazy(), st.tmp, work_dir=tmp_path / "w", shard_target_bytes=10**9)
            shards[0]["rows"] += 1
            st.commit({"shards": shards, "totals": {}})
    assert not (tmp_path / "ds" / "v").exists()
    assert [p.name for p in (tmp_path / "ds").iterdir()] == []  # temp dir removed too


def test_an_exception_while_staging_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="injected"), ReleaseStage(tmp_path, "ds", "v1") as st:
        st.write_file("README.md", "x")
        raise RuntimeError("injected")
    assert list((tmp_path / "ds").iterdir()) == []


def test_republishing_a_version_replaces_it_whole(tmp_path):
    old = _stage_release(tmp_path, "2026-11-24-v1", _docs(300))
    old_rows = json.loads((old / "manifest.json").read_text())["totals"]["rows"]
    new = _stage_release(tmp_path, "2026-11-24-v1", _docs(500, seed=3))
    assert new == old and verify_release(new) == []
    assert json.loads((new / "manifest.json").read_text())["totals"]["rows"] == 500 != old_rows
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["2026-11-24-v1"]  # nothing left aside


def test_stale_temp_dirs_of_a_crashed_publish_are_cleaned(tmp_path):
    stale = tmp_path / "ds" / ".2026-11-24-v1.tmp-abc"
    stale.mkdir(parents=True)
    (stale / "part-00000.parquet").write_bytes(b"half")
    _stage_release(tmp_path, "2026-11-24-v1", _docs(10))
    assert not stale.exists()


def test_any_night_s_stale_temp_dirs_go_at_the_next_publish_and_a_running_one_stays(tmp_path):
    """A crashed publish's folder stayed until the same version was published again (#14, item 11)."""
    import os
    import time

    from winnow.publish.release import STALE_AFTER_S, remove_stale_temps

    ds = tmp_path / "ds"
    old = ds / ".2026-11-20-v1.tmp-dead"
    running = ds / ".2026-11-21-v1.tmp-live"
    for d in (old, running):
        d.mkdir(parents=True)
    past = time.time() - STALE_AFTER_S - 60
    os.utime(old, (past, past))
    gone = remove_stale_temps(ds, "2026-11-24-v1")
    assert gone == [old] and not old.exists() and running.exists()


def test_latest_moves_forward_only(tmp_path):
    d = tmp_path / "ds"
    _stage_release(tmp_path, "2026-11-24-v1", _docs(10), "2026-11-24")
    assert read_latest(d) is None
    assert move_latest(d, "2026-11-24-v1") and read_latest(d) == "2026-11-24-v1"
    _stage_release(tmp_path, "2026-11-25-v1", _docs(10), "2026-11-25")
    assert move_latest(d, "2026-11-25-v1") and read_latest(d) == "2026-11-25-v1"
    _stage_release(tmp_path, "2026-11-20-v1", _docs(10), "2026-11-20")  # a backfill
    assert not move_latest(d, "2026-11-20-v1") and read_latest(d) == "2026-11-25-v1"
    with pytest.raises(ReleaseError, match="no such release"):
        move_latest(d, "2026-12-01-v1")
    assert (d / LATEST_FILE).read_text() == "2026-11-25-v1\n"
    assert not [p for p in d.iterdir() if p.name.startswith(".LATEST")]


def test_code_version_outside_a_git_checkout(tmp_path):
    v = code_version(tmp_path)
    assert v["git_sha"] is None and v["source"] == "unavailable" and v["reason"]
    assert code_version(tmp_path, override="build-42")["git_sha"] == "build-42"


def test_code_version_in_a_git_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("WINNOW_CODE_VERSION", raising=False)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "x"], check=True, env=env)
    sha = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert code_version(tmp_path) == {"git_sha": sha, "dirty": False, "source": "git"}
    (tmp_path / "f").write_text("2")
    assert code_version(tmp_path)["dirty"] is True


def test_fingerprints_are_computed_once_per_file_version(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"text": "a"}\n')
    cache = tmp_path / "cache.json"
    [fp] = fingerprint_files([str(f), str(f)], cache)
    assert fp["sha256"] == sha256_file(f) and fp["bytes"] == f.stat().st_size
    # the cache is used while size and mtime are unchanged ...
    data = json.loads(cache.read_text())
    data[str(f.resolve())]["sha256"] = "from-cache"
    cache.write_text(json.dumps(data))
    assert fingerprint_files([str(f)], cache)[0]["sha256"] == "from-cache"
    # ... and not once the file changed
    f.write_text('{"text": "b"}\n')
    os.utime(f, ns=(1, 1))
    assert fingerprint_files([str(f)], cache)[0]["sha256"] == sha256_file(f)
    assert fingerprint_files([str(tmp_path / "gone.jsonl")], cache) == [
        {"path": str(tmp_path / "gone.jsonl"), "missing": True}
    ]
