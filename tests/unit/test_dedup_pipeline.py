"""run_dedup end to end on small frames: kept choice, kinds, bad input, shards, the history index."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime

import polars as pl
import pytest

from winnow.dedup.index import IndexMismatchError, SignatureIndex, rebuild_index_from_releases
from winnow.dedup.minhash import MinHashParams
from winnow.dedup.pipeline import DedupSettings, DuplicateDocIdError, dedup_frames, run_dedup
from winnow.storage import CorruptStateError

_WORDS = [
    "river",
    "stone",
    "window",
    "garden",
    "letter",
    "market",
    "bridge",
    "winter",
    "candle",
    "forest",
    "music",
    "paper",
    "silver",
    "orange",
    "doctor",
    "travel",
    "engine",
    "island",
    "pocket",
    "shadow",
    "valley",
    "harbor",
    "ticket",
    "planet",
    "mirror",
]


def _text(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) + rng.choice(["", "s", "ed", "ing"]) for _ in range(n)) + "."


def _near(text: str, k: int = 1) -> str:
    words = text.split(" ")
    for i in range(k):
        words[10 + 40 * i] = "zebra"
    return " ".join(words)


def _ts(day: int | None):
    return None if day is None else datetime(2026, 11, day, tzinfo=UTC)


def _run(df: pl.DataFrame, tmp_path, name="w", **kw):
    out = run_dedup(df.lazy(), DedupSettings(**kw), tmp_path / name)
    return out, out.results.collect()


def test_kept_document_best_score_then_oldest_then_smallest_id(tmp_path):
    t = _text(1)
    df = pl.DataFrame(
        {
            "doc_id": ["e", "d", "c", "b", "a", "z"],
            "text": [t, t.upper(), _near(t), t + " !", t, _text(2)],
            "quality_score": [0.9, 0.9, 0.9, 0.9, 0.5, 0.1],
            "created_at": [_ts(5), _ts(3), None, _ts(3), _ts(1), None],
            "ingested_at": [_ts(20), _ts(21), _ts(1), _ts(20), _ts(1), _ts(1)],
        }
    )
    out, res = _run(df, tmp_path)
    got = {
        r["doc_id"]: (r["dup_of"], r["dup_kind"], r["dup_cluster_id"], r["dup_cluster_size"])
        for r in res.iter_rows(named=True)
    }
    # best score 0.9 (a loses), oldest created_at 3 (e loses, null c loses), then ingested_at 20 < 21: b
    assert got["b"] == (None, None, "b", 5)
    assert (
        got["d"] == ("b", "exact", "b", 5) and got["e"] == ("b", "exact", "b", 5) and got["a"] == ("b", "exact", "b", 5)
    )
    assert got["c"] == ("b", "near", "b", 5)
    assert got["z"] == (None, None, "z", 1)
    # the same answer whatever the input order
    _, res2 = _run(df.reverse(), tmp_path, "w2")
    assert res2.sort("doc_id").drop("content_hash").equals(res.sort("doc_id").drop("content_hash"))
    kept, dups = dedup_frames(df.lazy(), out)
    assert sorted(kept.collect()["doc_id"]) == ["b", "z"] and dups.collect().height == 4


def test_nan_and_null_scores_rank_last(tmp_path):
    t = _text(3)
    df = pl.DataFrame({"doc_id": ["a", "b", "c"], "text": [t, t, t], "quality_score": [float("nan"), None, 0.1]})
    _, res = _run(df, tmp_path)
    assert res.filter(pl.col("dup_of").is_null())["doc_id"].to_list() == ["c"]


def test_empty_tiny_and_punctuation_only_documents(tmp_path):
    df = pl.DataFrame(
        {
            "doc_id": ["e1", "e2", "p", "n", "t1", "t2", "t3", "long"],
            "text": [
                "",
                "   \n",
                "!!! ???",
                None,
                "hello world",
                "Hello, world!",
                "hello there",
                "hello world " + _text(4),
            ],
        }
    )
    out, res = _run(df, tmp_path)
    got = dict(zip(res["doc_id"], res["dup_of"]))
    # no words at all: one exact cluster, the smallest doc_id kept; null text counts as empty
    assert got["e1"] is None and got["e2"] == got["p"] == got["n"] == "e1"
    # tiny (fewer words than the 5-gram): exact duplicates only
    assert got["t1"] is None and got["t2"] == "t1" and got["t3"] is None and got["long"] is None
    assert out.stats["documents"] == 8


def test_a_50_mb_document_is_its_own_batch_and_is_deduplicated(tmp_path):
    paragraph = " ".join(_text(s, 60) for s in range(200))  # ~80 kB of distinct text
    big = "\n".join(f"Section {i}. " + paragraph[i * 97 % 5000 :] + paragraph[: i * 97 % 5000] for i in range(640))
    assert len(big.encode()) > 50_000_000
    df = pl.DataFrame({"doc_id": ["big", "big-copy", "small"], "text": [big, big.replace("\n", "\n\n"), _text(9)]})
    out, res = _run(df, tmp_path, batch_mb=8)
    assert out.stats["shards"] == 3  # batches are bounded by text size: a bigger document is alone
    assert dict(zip(res["doc_id"], res["dup_of"])) == {"big": None, "big-copy": "big", "small": None}


def test_repeated_doc_ids_are_an_error_naming_them(tmp_path):
    df = pl.DataFrame({"doc_id": ["x", "y", "x"], "text": ["a b c", "d e f", "g h i"]})
    with pytest.raises(DuplicateDocIdError, match=r"\['x'\]"):
        _run(df, tmp_path)
    with pytest.raises(ValueError, match="doc_id and text"):
        run_dedup(pl.LazyFrame({"doc_id": ["x"]}), DedupSettings(), tmp_path / "w3")


def test_many_small_shards_give_the_same_result_as_one(tmp_path):
    texts = [_text(i) for i in range(40)]
    texts += [_near(texts[i]) for i in range(10)] + [texts[i] for i in range(10, 15)]
    df = pl.DataFrame({"doc_id": [f"d{i:03d}" for i in range(len(texts))], "text": texts})
    one, r1 = _run(df, tmp_path, "one")
    many, r2 = _run(df, tmp_path, "many", batch_mb=0.002)
    procs, r3 = _run(df, tmp_path, "procs", batch_mb=0.01, workers=2)  # shards on spawned processes
    assert one.stats["shards"] == 1 and many.stats["shards"] > 20 and procs.stats["shards"] > 4
    assert r1.equals(r2) and r1.equals(r3)
    assert r1["dup_kind"].value_counts().sort("dup_kind", nulls_last=True).rows() == [
        ("exact", 5),
        ("near", 10),
        (None, 40),
    ]


def test_verification_modes_and_disabled_stages(tmp_path):
    t = _text(5)
    df = pl.DataFrame({"doc_id": ["a", "b", "c"], "text": [t, t, _near(t)]})
    _, exact_only = _run(df, tmp_path, "x", minhash=False)
    assert exact_only["dup_kind"].to_list() == [None, "exact", None]
    _, near_only = _run(df, tmp_path, "n", exact=False)
    assert near_only["dup_kind"].to_list() == [None, "exact", "near"]  # found by LSH, equal text: exact
    for verify in ("signature", "none"):
        _, r = _run(df, tmp_path, verify, verify=verify)
        assert r["dup_of"].to_list() == [None, "a", "a"]


def _night(seed: int, n: int, prefix: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"doc_id": [f"{prefix}{i}" for i in range(n)], "text": [_text(seed * 1000 + i) for i in range(n)]}
    )


def test_history_index_rerun_exclusion_and_replacement(tmp_path):
    index = SignatureIndex(tmp_path / "idx")
    n1 = _night(1, 20, "a")
    out1 = run_dedup(n1.lazy(), DedupSettings(), tmp_path / "w1", index=index, partition="2026-11-24")
    assert index.publish_partition("2026-11-24", out1.signatures) == 20
    n2 = pl.concat(
        [_night(2, 5, "b"), pl.DataFrame({"doc_id": ["c0", "c1"], "text": [n1["text"][3], _near(n1["text"][4])]})]
    )
    res = run_dedup(n2.lazy(), DedupSettings(), tmp_path / "w2", index=index, partition="2026-11-25").results.collect()
    dups = res.filter(pl.col("dup_of").is_not_null())
    assert dict(zip(dups["doc_id"], dups["dup_of"])) == {"c0": "a3", "c1": "a4"}
    assert set(dups["dup_kind"]) == {"history"} and dups["dup_cluster_size"].to_list() == [2, 2]
    # night 2 published with copies of night-1 documents in it (as if night 1 had not published them then)
    alone = run_dedup(n2.lazy(), DedupSettings(), tmp_path / "w2b")
    assert index.publish_partition("2026-11-25", alone.signatures) == 7
    # rerunning night 1: neither its own entries nor a later night's are history, so the
    # result does not depend on whether night 2 was published since
    again = run_dedup(
        n1.lazy(), DedupSettings(), tmp_path / "w3", index=index, partition="2026-11-24"
    ).results.collect()
    assert again["dup_of"].null_count() == 20
    assert index.partitions(before="2026-11-25") == ["2026-11-24"] and index.partitions(before="2026-11-24") == []
    # republishing replaces the partition's entries
    index.publish_partition(
        "2026-11-24",
        n1.head(0)
        .lazy()
        .select("doc_id")
        .with_columns(content_hash=pl.lit(None, pl.UInt64), signature=pl.lit(None, pl.Array(pl.UInt64, 112))),
    )
    assert index.size() == 7 and index.partitions() == ["2026-11-24", "2026-11-25"]
    # another recipe's MinHash parameters cannot read this index
    with pytest.raises(IndexMismatchError, match="rebuild"):
        SignatureIndex(tmp_path / "idx", MinHashParams(bands=20, rows=5))


def test_rebuild_index_from_releases(tmp_path):
    releases = tmp_path / "releases"
    n1 = _night(3, 12, "a")
    for dataset, version, frame in [("ds", "2026-11-24-v1", n1), ("ds", "2026-11-25-v1", _night(4, 6, "b"))]:
        d = releases / dataset / version
        d.mkdir(parents=True)
        frame.with_columns(partition=pl.lit(version[:10])).write_parquet(d / "part-00000.parquet")
    (releases / "ds" / ".2026-11-26-v1.tmp-1").mkdir()  # an unfinished publish is ignored
    (releases / "ds" / "LATEST").write_text("2026-11-25-v1")
    counts = rebuild_index_from_releases(releases, tmp_path / "idx")
    assert counts == {"2026-11-24": 12, "2026-11-25": 6}
    index = SignatureIndex(tmp_path / "idx")
    assert json.loads((tmp_path / "idx" / "meta.json").read_text())["bands"] == 14
    probe = pl.DataFrame({"doc_id": ["p0", "p1", "p2"], "text": [n1["text"][0], _near(n1["text"][1]), _text(99)]})
    res = run_dedup(
        probe.lazy(), DedupSettings(), tmp_path / "w", index=index, partition="2026-11-27"
    ).results.collect()
    assert res["dup_of"].to_list() == ["a0", "a1", None]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rebuild_index_from_releases(tmp_path / "nope", tmp_path / "idx2")


def _two_nights(tmp_path) -> tuple:
    index = SignatureIndex(tmp_path / "idx")
    for i, night in enumerate(["2026-11-24", "2026-11-25"]):
        out = run_dedup(_night(10 + i, 8, f"n{i}").lazy(), DedupSettings(), tmp_path / f"w{i}")
        index.publish_partition(night, out.signatures)
    return tmp_path / "idx", tmp_path / "idx" / "partitions"


@pytest.mark.parametrize(
    "damage,expected",
    [
        (
            lambda parts: (parts / "2026-11-24" / "band_003.parquet").unlink(),
            r"night 2026-11-24: band_003.parquet is missing",
        ),
        (
            lambda parts: shutil.rmtree(parts / "2026-11-25"),
            r"night 2026-11-25 is listed in nights.json but its folder",
        ),
        (
            lambda parts: (parts / "2026-11-24" / "hashes.parquet").write_bytes(
                (parts / "2026-11-24" / "hashes.parquet").read_bytes()[:-40]
            ),
            r"night 2026-11-24: hashes.parquet has \d+ bytes, not the \d+ written",
        ),
        (lambda parts: (parts.parent / "nights.json").unlink(), r"no nights.json"),
        (
            lambda parts: (parts.parent / "meta.json").write_text('{"bands": 1'),
            r"meta.json \(the dedup index's MinHash parameters\) cannot be read: JSONDecodeError",
        ),
    ],
)
def test_a_partly_missing_or_damaged_index_fails_naming_the_night_file_and_rebuild(tmp_path, damage, expected):
    """Deleting a night's band files silently changed the curated set (#14, items 7 and 8)."""
    root, parts = _two_nights(tmp_path)
    assert SignatureIndex(root).size() == 16
    damage(parts)
    with pytest.raises(CorruptStateError, match=expected) as err:
        SignatureIndex(root)
    assert "python -m winnow.dedup.index rebuild" in str(err.value)


def test_a_night_swapped_in_but_not_yet_listed_is_listed(tmp_path):
    """A crash between swapping a night's folder in and listing it loses nothing."""
    root, _parts = _two_nights(tmp_path)
    (root / "nights.json").write_text(json.dumps({"nights": ["2026-11-24"]}))
    assert SignatureIndex(root).listed_nights() == ["2026-11-24", "2026-11-25"]
