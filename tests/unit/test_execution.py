"""Shard plans and runners (winnow.execution): every row once, any cut gives the same table, clear errors."""

from __future__ import annotations

import socket

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winnow.execution import ClusterUnreachableError, LocalRunner, map_shards, plan_shards, runner_for
from winnow.execution.runners import check_reachable


def _docs(n: int = 500) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"d{i:04d}" for i in range(n)],
            "text": ["word " * (1 + (i * 37) % 400) for i in range(n)],
            "status": ["kept" if i % 3 else "rejected" for i in range(n)],
        }
    )


def _per_row(frame: pl.LazyFrame, factor: int) -> pl.LazyFrame:
    return frame.with_columns(n=pl.col("text").str.len_bytes() * factor)


def test_a_plan_covers_every_row_once_in_shards_of_about_the_target_text(tmp_path):
    docs = _docs()
    path = tmp_path / "docs.parquet"
    docs.write_parquet(path, row_group_size=64)
    target_mb = 0.05
    shards = plan_shards(pl.scan_parquet(path), target_mb)
    assert [s.offset for s in shards] == [0, *[s.offset + s.rows for s in shards[:-1]]]
    assert sum(s.rows for s in shards) == docs.height and len(shards) > 5
    target = target_mb * 2**20
    assert all(s.text_bytes < target + 2_000 for s in shards)  # a shard ends once it crosses the target
    assert sum(s.text_bytes for s in shards) == docs["text"].str.len_bytes().sum()


def test_a_plan_with_a_filter_weighs_and_numbers_only_the_rows_it_keeps(tmp_path):
    docs = _docs()
    kept = pl.col("status") == "kept"
    shards = plan_shards(docs.lazy(), 0.03, kept)
    assert sum(s.kept for s in shards) == docs.filter(kept).height
    assert [s.start for s in shards] == [0, *[sum(t.kept for t in shards[: i + 1]) for i in range(len(shards) - 1)]]
    assert sum(s.text_bytes for s in shards) == docs.filter(kept)["text"].str.len_bytes().sum()


@pytest.mark.parametrize("shard_mb", [0.01, 0.07, 64])
def test_map_shards_gives_the_same_table_for_any_cut(tmp_path, shard_mb):
    docs = _docs()
    path = tmp_path / "docs.parquet"
    docs.write_parquet(path)
    runner = LocalRunner()
    out = map_shards(
        pl.scan_parquet(path), _per_row, tmp_path / f"w{shard_mb}", runner, shard_mb=shard_mb, label="t", args=(3,)
    )
    assert_frame_equal(out.collect(), _per_row(docs.lazy(), 3).collect())
    assert runner.reports["t"] and all(r.node == "local" for r in runner.reports["t"])


def test_map_shards_of_an_empty_table_keeps_the_schema(tmp_path):
    out = map_shards(_docs().head(0).lazy(), _per_row, tmp_path / "w", LocalRunner(), shard_mb=1, label="t", args=(2,))
    assert out.collect().columns == ["doc_id", "text", "status", "n"] and out.collect().height == 0


def _square(x: int) -> int:
    return x * x


def test_local_processes_return_results_in_job_order():
    runner = LocalRunner(workers=2)
    assert runner.map(_square, [(i,) for i in range(6)], label="sq") == [i * i for i in range(6)]
    assert len({r.pid for r in runner.reports["sq"]}) >= 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_named_with_how_to_start_one():
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ClusterUnreachableError) as err:
        check_reachable(address, timeout_s=1)
    assert address in str(err.value) and "scripts/ray.sh start" in str(err.value)


def test_ray_mode_without_an_address_says_how_to_get_one():
    with pytest.raises(ValueError, match="ray_address is not set.*scripts/ray.sh start"):
        runner_for("ray")
