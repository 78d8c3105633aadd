"""Each expectation suite passes on good data and fails on crafted bad data, naming the expectation,
the column and the failing doc_ids. Runs the real Great Expectations engine."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.documents import ANNOTATION_SCHEMA, DOCUMENT_SCHEMA
from schemas.expectations import (
    TAGS_JOINED,
    annotation_sample_spec,
    annotations_spec,
    curated_documents_spec,
    raw_documents_spec,
    release_manifest_spec,
    signal_ranges,
)
from schemas.recipe import Recipe
from winnow.validation import ValidationInputError, manifest_frame, to_pandas, validate

NOW = datetime(2026, 11, 24, 2, tzinfo=UTC)


def _recipe(**validation) -> Recipe:
    return Recipe.model_validate(
        {
            "name": "t",
            "version": 1,
            "sources": [{"name": "s", "path": "x", "format": "jsonl"}],
            "filters": {"language": {"allowed": ["en", "de"]}},
            "validation": validation,
        }
    )


def _docs(n: int = 12) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"d{i:02d}" for i in range(n)],
            "text": [f"Document number {i} about sheep." for i in range(n)],
            "source": ["web"] * n,
            "url": [f"https://example.org/{i}" for i in range(n)],
            "source_file": ["a.jsonl"] * n,
            "source_line": list(range(1, n + 1)),
            "lang": ["en", "de"] * (n // 2),
            "created_at": [None] * n,
            "ingested_at": [NOW] * n,
            "partition": ["2026-11-24"] * n,
            "metadata": ["{}"] * n,
        },
        schema=DOCUMENT_SCHEMA,
    )


def _curated(n: int = 12) -> pl.DataFrame:
    return _docs(n).with_columns(
        lang_detected=pl.col("lang"),
        lang_score=pl.lit(0.93),
        n_words=pl.col("text").str.split(" ").list.len(),
        gopher_symbol_word_ratio=pl.lit(0.0),
        c4_num_sentences=pl.lit(1, dtype=pl.Int64),
        content_hash=pl.col("text").hash(seed=1).cast(pl.String),
        quality_score=pl.lit(0.7),
    )


def _set(df: pl.DataFrame, column: str, rows: list[int], value) -> pl.DataFrame:
    idx = pl.int_range(pl.len())
    dtype = df.schema[column]
    return df.with_columns(
        pl.when(idx.is_in(rows)).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column)).alias(column)
    )


def _failed(outcome) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in outcome.failures}


def _run(frame, spec, **kw):
    return validate(frame, spec, asset=spec.name, partition="2026-11-24", **kw)


# --------------------------------------------------------------------------- raw_documents
def test_raw_suite_passes_on_good_documents():
    out = _run(_docs(), raw_documents_spec(_recipe()))
    assert out.success, out.headline()
    assert out.rows == 12 and out.statistics["evaluated_expectations"] == len(raw_documents_spec(_recipe()).rules)


@pytest.mark.parametrize(
    ("break_it", "expected", "ids"),
    [
        (
            lambda d: _set(d, "doc_id", [3], None),
            ("expect_column_values_to_not_be_null", "doc_id"),
            ["<null id at row 3>"],
        ),
        (lambda d: _set(d, "doc_id", [2, 7], "dup"), ("expect_column_values_to_be_unique", "doc_id"), ["dup"]),
        (lambda d: _set(d, "text", [5], None), ("expect_column_values_to_not_be_null", "text"), ["d05"]),
        (lambda d: _set(d, "text", [4], ""), ("expect_column_values_to_be_between", "text_chars"), ["d04"]),
        (lambda d: _set(d, "source", [1], None), ("expect_column_values_to_not_be_null", "source"), ["d01"]),
        (
            lambda d: d.with_columns(pl.col("source_line").cast(pl.String)),
            ("expect_column_values_to_be_of_type", "source_line"),
            [],
        ),
    ],
    ids=["null-id", "dup-id", "null-text", "empty-text", "null-source", "wrong-type"],
)
def test_raw_suite_names_the_broken_rule_column_and_doc_ids(break_it, expected, ids):
    out = _run(break_it(_docs()), raw_documents_spec(_recipe()))
    assert not out.success
    assert _failed(out) == {expected}
    [f] = out.failures
    assert f.failing_ids == ids
    assert expected[0] in out.headline() and expected[1] in out.headline()


def test_raw_suite_text_bounds_come_from_the_recipe():
    docs = _set(_docs(), "text", [6], "x" * 50)
    out = _run(docs, raw_documents_spec(_recipe(max_text_chars=40)))
    assert _failed(out) == {("expect_column_values_to_be_between", "text_chars")}
    assert out.failures[0].failing_ids == ["d06"]
    assert "text has 1..40 characters" in out.failures[0].description
    assert _run(docs, raw_documents_spec(_recipe(max_text_chars=60))).success


def test_a_missing_contract_column_fails_the_column_set_and_names_it():
    out = _run(_docs().drop("metadata"), raw_documents_spec(_recipe()))
    assert not out.success
    names = {f.expectation for f in out.failures}
    assert "expect_table_columns_to_match_set" in names
    typed = [f for f in out.failures if f.expectation == "expect_column_values_to_be_of_type"]
    assert [f.column for f in typed] == ["metadata"] and typed[0].exception


def test_failing_ids_are_capped_at_max_failing_ids():
    docs = _set(_docs(60), "text", list(range(0, 60, 2)), "")
    out = _run(docs, raw_documents_spec(_recipe(max_failing_ids=7)), max_ids=7)
    [f] = out.failures
    assert f.unexpected_count == 30
    assert f.failing_ids == [f"d{i:02d}" for i in range(0, 14, 2)]
    assert len(out.failing_ids(limit=7)) == 7


# --------------------------------------------------------------------------- curated_documents
def _curated_spec(df: pl.DataFrame, **validation):
    return curated_documents_spec(_recipe(**validation), dict(df.schema))


def test_curated_suite_passes_on_good_documents():
    df = _curated()
    out = _run(df, _curated_spec(df))
    assert out.success, out.headline()


@pytest.mark.parametrize(
    ("break_it", "expected", "ids"),
    [
        (
            lambda d: _set(d, "content_hash", [1, 9], "samehash"),
            ("expect_column_values_to_be_unique", "content_hash"),
            ["d01", "d09"],
        ),
        (
            lambda d: _set(d, "lang_detected", [4], "fr"),
            ("expect_column_values_to_be_in_set", "lang_detected"),
            ["d04"],
        ),
        (
            lambda d: _set(d, "gopher_symbol_word_ratio", [2], 1.5),
            ("expect_column_values_to_be_between", "gopher_symbol_word_ratio"),
            ["d02"],
        ),
        (
            lambda d: _set(d, "c4_num_sentences", [8], -1),
            ("expect_column_values_to_be_between", "c4_num_sentences"),
            ["d08"],
        ),
        (
            lambda d: _set(d, "quality_score", [0], None),
            ("expect_column_values_to_not_be_null", "quality_score"),
            ["d00"],
        ),
        (
            lambda d: _set(d, "quality_score", [11], -0.2),
            ("expect_column_values_to_be_between", "quality_score"),
            ["d11"],
        ),
    ],
    ids=["dup-hash", "language", "ratio-above-1", "negative-count", "unscored", "score-out-of-range"],
)
def test_curated_suite_names_the_broken_rule(break_it, expected, ids):
    df = break_it(_curated())
    out = _run(df, _curated_spec(df))
    assert _failed(out) == {expected}
    assert out.failures[0].failing_ids == ids


def test_signal_columns_are_found_by_name_as_they_are_added():
    df = _curated().with_columns(
        fineweb_line_punct_ratio=pl.lit(0.4),
        pii_email_count=pl.lit(-3, dtype=pl.Int64),
        not_a_signal=pl.lit(-5.0),
        gopher_flag=pl.lit("x"),
    )
    ranges = {c: (lo, hi) for c, lo, hi in signal_ranges(dict(df.schema), _recipe())}
    assert ranges["fineweb_line_punct_ratio"] == (0.0, 1.0)
    assert ranges["lang_score"] == (0.0, 1.0) and ranges["quality_score"] == (0.0, 1.0)
    assert ranges["pii_email_count"] == (0.0, None) and ranges["n_words"] == (0.0, None)
    assert "not_a_signal" not in ranges and "gopher_flag" not in ranges
    out = _run(df, _curated_spec(df))
    assert _failed(out) == {("expect_column_values_to_be_between", "pii_email_count")}


def test_null_signals_are_not_failures_and_nullable_counts_keep_their_range():
    df = _set(_set(_curated(), "c4_num_sentences", [3], None), "gopher_symbol_word_ratio", [5], None)
    assert _run(df, _curated_spec(df)).success
    df = _set(df, "c4_num_sentences", [6], -2)
    out = _run(df, _curated_spec(df))
    assert _failed(out) == {("expect_column_values_to_be_between", "c4_num_sentences")}
    assert out.failures[0].failing_ids == ["d06"]


def test_language_rule_follows_the_recipe():
    df = _set(_curated(), "lang_detected", [4], "fr")
    off = curated_documents_spec(
        Recipe.model_validate(
            {
                "name": "t",
                "version": 1,
                "sources": [{"name": "s", "path": "x", "format": "jsonl"}],
                "filters": {"language": {"enabled": False}},
            }
        ),
        dict(df.schema),
    )
    assert "ExpectColumnValuesToBeInSet" not in off.expectation_names()
    assert _run(df, off).success
    # without lang_detected the input's lang is checked
    df2 = _set(_curated().drop("lang_detected"), "lang", [3], "xx")
    out = _run(df2, _curated_spec(df2))
    assert _failed(out) == {("expect_column_values_to_be_in_set", "lang")}


# --------------------------------------------------------------------------- annotation_sample
def _sample(n: int = 10) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"s{i}" for i in range(n)],
            "text": [
                f"Redacted text {i}: write to [EMAIL] or call [PHONE]. Version 1.2.3, 2026-11-24." for i in range(n)
            ],
            "inclusion_prob": [0.02] * n,
            "stratum": ["kept|web|en|b2"] * n,
        }
    )


def test_sample_suite_passes_on_redacted_text():
    out = _run(_sample(), annotation_sample_spec(_recipe(), _sample().columns))
    assert out.success, out.headline()


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("Contact jane.doe@example.org for details", "e-mail"),
        ("Call +1 (555) 123-4567 today", "phone"),
        ("Ruf an: +49 30 1234567", "phone"),
        ("office: 555-123-4567", "phone"),
    ],
)
def test_sample_suite_catches_unredacted_email_and_phone(text, what):
    df = _set(_sample(), "text", [3], text)
    out = _run(df, annotation_sample_spec(_recipe(), df.columns))
    assert _failed(out) == {("expect_column_values_to_not_match_regex", "text")}
    [f] = out.failures
    assert what in f.description and f.failing_ids == ["s3"]


def test_sample_suite_checks_text_redacted_when_present_and_positive_weights():
    df = _sample().with_columns(text_redacted=pl.col("text"), text=pl.lit("raw a@b.org"))
    spec = annotation_sample_spec(_recipe(), df.columns)
    assert _run(df, spec).success  # the raw text is not what annotators see
    bad = _set(_set(df, "text_redacted", [0], "mail me: a.b@c.de"), "inclusion_prob", [4], 0.0)
    out = _run(bad, spec)
    assert _failed(out) == {
        ("expect_column_values_to_not_match_regex", "text_redacted"),
        ("expect_column_values_to_be_between", "inclusion_prob"),
    }
    assert out.failing_ids() == ["s0", "s4"]


# --------------------------------------------------------------------------- annotations
def _annotations(n: int = 8) -> pl.DataFrame:
    rows = {
        "doc_id": [f"d{i // 2}" for i in range(n)],
        "task_id": [i // 2 for i in range(n)],
        "annotation_id": list(range(n)),
        "annotator": ["ann1", "ann2"] * (n // 2),
        "decision": ["keep", "drop"] * (n // 2),
        "rating": [1, 5, None, 3] * (n // 4),
        "tags": [[], ["spam/ads"], ["boilerplate/navigation", "personal data"], None] * (n // 4),
        "comment": [None] * n,
        "lead_time_s": [12.5] * n,
        "created_at": [NOW] * n,
        "updated_at": [NOW] * n,
        "stratum": ["kept|web|en|b2"] * n,
        "inclusion_prob": [0.02] * n,
        "sample_kind": ["random"] * n,
        "partition": ["2026-11-24"] * n,
    }
    return pl.DataFrame(rows, schema=ANNOTATION_SCHEMA)


def test_annotations_suite_passes_on_good_labels():
    out = _run(_annotations(), annotations_spec(_recipe()))
    assert out.success, out.headline()


@pytest.mark.parametrize(
    ("break_it", "expected", "ids"),
    [
        (lambda d: _set(d, "decision", [2], "maybe"), ("expect_column_values_to_be_in_set", "decision"), ["d1"]),
        (lambda d: _set(d, "rating", [5], 7), ("expect_column_values_to_be_between", "rating"), ["d2"]),
        (
            lambda d: d.with_columns(
                tags=pl.when(pl.col("annotation_id") == 6).then(pl.lit(["spam/ads", "lol"])).otherwise("tags")
            ),
            ("expect_column_values_to_match_regex", TAGS_JOINED),
            ["d3"],
        ),
        (
            lambda d: _set(d, "annotator", [3], "ann1"),
            ("expect_compound_columns_to_be_unique", "task_id, annotator"),
            ["d1"],
        ),
        (
            lambda d: _set(d, "inclusion_prob", [0], -0.5),
            ("expect_column_values_to_be_between", "inclusion_prob"),
            ["d0"],
        ),
        (lambda d: _set(d, "annotator", [7], None), ("expect_column_values_to_not_be_null", "annotator"), ["d3"]),
    ],
    ids=["decision", "rating", "tag", "task-annotator-twice", "weight", "no-annotator"],
)
def test_annotations_suite_names_the_broken_rule(break_it, expected, ids):
    out = _run(break_it(_annotations()), annotations_spec(_recipe()))
    assert _failed(out) == {expected}
    assert out.failures[0].failing_ids == ids


def test_annotations_suite_on_an_empty_table_passes():
    assert _run(pl.DataFrame(schema=ANNOTATION_SCHEMA), annotations_spec(_recipe())).success


# --------------------------------------------------------------------------- release_manifest
def _release(root: Path, rows_per_shard=(3, 2)) -> Path:
    root.mkdir(parents=True)
    shards = []
    start = 0
    for i, n in enumerate(rows_per_shard):
        f = root / f"part-{i:05d}.parquet"
        pq.write_table(
            pa.table(
                {
                    "doc_id": [f"d{start + j}" for j in range(n)],
                    "n_tokens": pa.array([10 + j for j in range(n)], pa.int64()),
                }
            ),
            f,
        )
        start += n
        shards.append(
            {
                "file": f.name,
                "rows": n,
                "bytes": f.stat().st_size,
                "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                "tokens": sum(10 + j for j in range(n)),
            }
        )
    totals = {
        "rows": sum(s["rows"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "shards": len(shards),
    }
    (root / "manifest.json").write_text(json.dumps({"shards": shards, "totals": totals}))
    return root


def _check_release(release: Path, curated_rows: int | None = 5):
    manifest, frame = manifest_frame(release)
    return _run(frame, release_manifest_spec(manifest, curated_rows))


def test_manifest_suite_passes_when_the_manifest_matches_its_files(tmp_path):
    out = _check_release(_release(tmp_path / "r"))
    assert out.success, out.headline()


def _edit(release: Path, fn) -> None:
    m = json.loads((release / "manifest.json").read_text())
    fn(m)
    (release / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            lambda r: _edit(r, lambda m: m["shards"][1].update(rows=3)),
            {("expect_column_pair_values_to_be_equal", "rows, actual_rows")},
        ),
        (
            lambda r: _edit(r, lambda m: m["shards"][0].update(sha256="0" * 64)),
            {("expect_column_pair_values_to_be_equal", "sha256, actual_sha256")},
        ),
        (
            lambda r: _edit(r, lambda m: m["totals"].update(rows=6)),
            {("expect_column_sum_to_be_between", "actual_rows")},
        ),
        (
            lambda r: (r / "part-00001.parquet").unlink(),
            {
                ("expect_column_values_to_be_in_set", "exists"),
                ("expect_column_sum_to_be_between", "actual_rows"),
                ("expect_column_sum_to_be_between", "actual_bytes"),
                ("expect_column_sum_to_be_between", "actual_tokens"),
            },
        ),
        (
            lambda r: (r / "part-00009.parquet").write_bytes((r / "part-00000.parquet").read_bytes()),
            {
                ("expect_column_values_to_be_in_set", "listed"),
                ("expect_table_row_count_to_equal", None),
                ("expect_column_sum_to_be_between", "actual_rows"),
                ("expect_column_sum_to_be_between", "actual_bytes"),
                ("expect_column_sum_to_be_between", "actual_tokens"),
            },
        ),
    ],
    ids=["shard-rows", "shard-sha", "total-rows", "missing-shard", "unlisted-shard"],
)
def test_manifest_suite_catches_counts_that_differ_from_the_shards(tmp_path, tamper, expected):
    release = _release(tmp_path / "r")
    tamper(release)
    out = _check_release(release)
    assert _failed(out) == expected


def test_manifest_suite_names_the_shard_file_and_compares_with_curated_rows(tmp_path):
    release = _release(tmp_path / "r")
    _edit(release, lambda m: m["shards"][1].update(bytes=1))
    out = _check_release(release, curated_rows=5)
    assert out.failures[0].failing_ids == ["part-00001.parquet"]
    out = _check_release(_release(tmp_path / "r2"), curated_rows=6)
    assert _failed(out) == {("expect_column_sum_to_be_between", "actual_rows")}
    assert "curated" in out.failures[0].description


def test_missing_or_broken_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationInputError, match="manifest.json: release manifest not found"):
        manifest_frame(tmp_path)
    (tmp_path / "manifest.json").write_text("{nope")
    with pytest.raises(ValidationInputError, match="manifest.json: not valid JSON"):
        manifest_frame(tmp_path)


# --------------------------------------------------------------------------- runner
def test_summary_json_and_data_docs_are_written_per_run(tmp_path):
    root = tmp_path / "validation"
    bad = _set(_docs(), "doc_id", [1, 2], "dup")
    out = validate(
        bad,
        raw_documents_spec(_recipe()),
        asset="raw_documents",
        partition="2026-11-24",
        root=root,
        run_name="2026-11-24__run1",
    )
    summary = json.loads((root / "raw_documents" / "2026-11-24.json").read_text())
    assert summary["suite"] == "raw_documents" and summary["success"] is False
    assert summary["failed_expectations"] == ["expect_column_values_to_be_unique"]
    assert summary["failures"][0]["failing_ids"] == ["dup"] and summary["rows"] == 12
    assert summary["statistics"]["evaluated_expectations"] > summary["statistics"]["successful_expectations"]
    page = Path(out.data_docs)
    assert page.exists() and "2026-11-24__run1" in str(page) and page == Path(summary["data_docs"])
    assert "expect_column_values_to_be_unique" in page.read_text() or "unique" in page.read_text()
    # a second run keeps the first page and lists both in the site index
    out2 = validate(
        _docs(),
        raw_documents_spec(_recipe()),
        asset="raw_documents",
        partition="2026-11-24",
        root=root,
        run_name="2026-11-24__run2",
    )
    assert page.exists() and Path(out2.data_docs).exists()
    index = (root / "data_docs" / "raw_documents" / "index.html").read_text()
    assert "2026-11-24__run1" in index and "2026-11-24__run2" in index
    assert json.loads((root / "raw_documents" / "2026-11-24.json").read_text())["success"] is True


def test_old_validation_results_and_their_pages_are_pruned(tmp_path):
    root = tmp_path / "validation"
    first = validate(
        _docs(),
        raw_documents_spec(_recipe()),
        asset="raw_documents",
        partition="2026-11-24",
        root=root,
        run_name="old",
        keep_runs=1,
    )
    second = validate(
        _docs(),
        raw_documents_spec(_recipe()),
        asset="raw_documents",
        partition="2026-11-25",
        root=root,
        run_name="new",
        keep_runs=1,
    )
    assert not Path(first.data_docs).exists() and Path(second.data_docs).exists()
    assert len(list((root / "gx_results" / "raw_documents").rglob("*.json"))) == 1
    index = (root / "data_docs" / "raw_documents" / "index.html").read_text()
    assert "new" in index and "/old/" not in index


def test_to_pandas_keeps_types_where_they_are_checked():
    df = pl.DataFrame(
        {"a": [1, None], "b": [1, None], "c": [0.5, None], "s": ["x", None], "t": [True, False]},
        schema={"a": pl.Int64, "b": pl.Int64, "c": pl.Float64, "s": pl.String, "t": pl.Boolean},
    )
    pdf = to_pandas(df, exact_types={"a"})
    assert str(pdf["a"].dtype) == "Int64" and str(pdf["b"].dtype) == "float64"
    assert str(pdf["c"].dtype) == "float64" and pdf["s"].dtype.type is str and str(pdf["t"].dtype) == "bool"


def test_recipe_rejects_bad_patterns_and_unknown_suites():
    with pytest.raises(Exception, match="email_pattern"):
        _recipe(email_pattern="([a-z")
    with pytest.raises(Exception, match="look-around"):
        _recipe(phone_pattern=r"(?<!\d)\d{10}")
    with pytest.raises(Exception, match="warn_only"):
        _recipe(warn_only=["curated"])


def test_data_docs_render_styled_offline_from_the_installed_static_files(tmp_path):
    """Every stylesheet and script a Data Docs page loads is a local file (scripts/setup.sh installs them)."""
    import re

    from winnow.data_docs_static import CDN_FILES, installed
    from winnow.settings import Settings

    static = Settings().validation.static_dir
    assert installed(static), f"{static}: run scripts/setup.sh (it installs the Data Docs' CSS and JS with npm)"
    root = tmp_path / "validation"
    out = validate(_docs(), raw_documents_spec(_recipe()), asset="raw_documents", partition="2026-11-24",
                   root=root, run_name="2026-11-24__styled", static_dir=static)  # fmt: skip
    for page in (Path(out.data_docs), root / "data_docs" / "raw_documents" / "index.html"):
        html = page.read_text()
        links = re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"|src="(https://cdn[^"]+)"', html)
        assert links and not [a or b for a, b in links if (a or b).startswith("http")], links
        for a, _ in links:
            assert (page.parent / a).resolve().is_file(), a
    assert not any(url in html for url in CDN_FILES) and "great-expectations-web-assets" not in html


def test_pii_in_doc_id_and_url_never_reaches_a_task_and_the_sample_suite_checks_them():
    """A doc_id of user-jane.doe@corp-mail.com and a url with ?email=&phone= reached annotators (#14, item 14)."""
    from schemas.recipe import Recipe
    from winnow.annotation.redact import task_doc_id
    from winnow.annotation.sampling import select_sample
    from winnow.annotation.tasks import format_tasks

    n = 60
    ids = [f"web:user-jane.doe{i}@corp-mail.com" if i % 2 else f"web:{i}" for i in range(n)]
    scored = pl.DataFrame(
        {
            "doc_id": ids,
            "text": [f"Some page text number {i}." for i in range(n)],
            "text_redacted": [f"Some page text number {i}." for i in range(n)],
            "url": [f"https://shop.example/u/{i}?email=jane{i}@corp-mail.com&phone=555-123-4567#top" for i in range(n)],
            "source": ["web"] * n,
            "lang": ["en"] * n,
            "lang_detected": ["en"] * n,
            "partition": ["2026-11-24"] * n,
            "status": ["kept"] * n,
            "quality_score": [0.5 + i / 200 for i in range(n)],
        }
    )
    src = [{"name": "web", "path": "x.jsonl", "format": "jsonl"}]
    recipe = Recipe.model_validate({"name": "t", "version": 1, "sources": src, "sampling": {"fraction": 0.5}})
    sample = select_sample(scored.lazy(), recipe).collect()
    shown = " ".join(str(v) for t in format_tasks(sample) for v in t["data"].values())
    assert "@" not in shown and "jane" not in shown and "555-123" not in shown
    pii_rows = sample.filter(pl.col("doc_id").str.contains("@"))
    assert pii_rows.height and pii_rows["task_doc_id"].str.starts_with("web:redacted-").all()
    assert (
        sample.filter(~pl.col("doc_id").str.contains("@"))["task_doc_id"].to_list()
        == sample.filter(~pl.col("doc_id").str.contains("@"))["doc_id"].to_list()
    )  # ids without PII are shown as they are
    assert task_doc_id(pii_rows["doc_id"][0]) == pii_rows["task_doc_id"][0]  # a pure function: pulls map back
    spec = annotation_sample_spec(_recipe(), sample.columns)
    assert _run(sample, spec).success
    leaked = sample.with_columns(task_doc_id=pl.col("doc_id"), url=pl.lit("https://x.example/?mail=a.b@c.de"))
    assert _failed(_run(leaked, spec)) == {
        ("expect_column_values_to_not_match_regex", "task_doc_id"),
        ("expect_column_values_to_not_match_regex", "url"),
    }
