"""Ingest survives a generated hostile corpus: for every file, documents plus quarantined records
equal the records in it, each bad record has its reason, and the night goes on (#14, items 1-5)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from schemas.recipe import Recipe
from tests.hostile_corpus import NIGHT, build, recipe_sources
from winnow.ingest import ingest_partition


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "in"
    cases = build(root)
    recipe = Recipe.model_validate({"name": "hostile", "version": 1, "sources": recipe_sources()})
    res = ingest_partition(recipe, root, NIGHT, root.parent / "work")
    return root / NIGHT, cases, res, res.documents.collect(), res.quarantine.collect()


def test_the_corpus_has_at_least_30_kinds_in_every_format(ingested):
    _night, cases, *_ = ingested
    assert len({c.kind for c in cases}) >= 30
    suffixes = {Path(c.path).suffix for c in cases}
    assert {".jsonl", ".gz", ".zst", ".parquet", ".txt", ".md"} <= suffixes


def test_documents_plus_quarantine_equal_the_records_of_every_file(ingested):
    night, cases, _res, docs, q = ingested
    per_file = Counter(docs["source_file"].to_list()) + Counter(q["source_file"].to_list())
    wrong = {
        c.kind: (per_file.get(str(night / c.path), 0), c.records)
        for c in cases
        if per_file.get(str(night / c.path), 0) != c.records
    }
    assert wrong == {}, "kind: (documents + quarantined, records in the file)"
    assert sum(c.records for c in cases) == docs.height + q.height  # nothing from anywhere else


def test_each_bad_record_gets_its_reason(ingested):
    night, cases, _res, _docs, q = ingested
    got = q.group_by("source_file").agg(pl.col("reason").sort())
    reasons = dict(zip(got["source_file"], got["reason"].to_list()))
    wrong = {
        c.kind: (reasons.get(str(night / c.path), []), c.reasons)
        for c in cases
        if sorted(reasons.get(str(night / c.path), [])) != c.reasons
    }
    assert wrong == {}, "kind: (reasons got, reasons expected)"
    assert q.filter(pl.col("message").is_null() | (pl.col("message") == "")).height == 0
    located = q.filter(pl.col("reason") != "corrupt_file")
    assert located["message"].str.contains(NIGHT).all()  # every message names the file


def test_what_reaches_the_documents_is_clean(ingested):
    night, _cases, res, docs, _q = ingested
    assert not docs["text"].str.contains("\x00", literal=True).any()  # NUL bytes stripped, and counted
    assert docs.filter(pl.col("text").str.starts_with("\ufeff")).height == 0  # BOMs stripped
    assert "outside the source folder" not in " ".join(docs["text"].to_list())
    assert docs["doc_id"].n_unique() == docs.height
    big = docs.filter(pl.col("doc_id") == "jl:big")
    assert big.height == 1 and big["text"].str.len_chars()[0] == 5_000_000
    assert [e for e in res.errors if "source typo" in e] == [
        f"source typo: no file matches {night}/jsnol/*.jsonl (path '{{partition}}/jsnol/*.jsonl', night {NIGHT}); "
        "fix the path, or mark the source optional: true if some nights have no files"
    ]
    failed = {Path(f["path"]).name for f in res.files if f["status"] == "failed"}
    assert failed == {
        "truncated_gzip.jsonl.gz",
        "truncated_zstd.jsonl.zst",
        "not_really_gzip.jsonl.gz",
        "no_text_column.parquet",
        "truncated.parquet",
        "not_parquet.parquet",
    }
