"""The Great Expectations checks gate the graph: a failing blocking check on curated_documents
stops curated_release in the same run; once the data is fixed the release is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from schemas.documents import DOCUMENT_SCHEMA
from tests.resources import resources_for

P = "2026-11-24"


def _recipe(root: Path, extra: str = "") -> Path:
    (root / "in" / P).mkdir(parents=True, exist_ok=True)
    recipe = root / "recipe.yaml"
    recipe.write_text(
        "name: tiny\nversion: 1\nseed: 7\n"
        "sources:\n  - {name: s, path: 'in/{partition}/*.jsonl', format: jsonl, lang_field: lang}\n"
        "filters: {language: {allowed: [en, de]}}\n"
        "publish: {dataset: tiny}\n"
        "estimates: {on_insufficient_evidence: warn}\n" + extra
    )
    return recipe


def _deduplicated(n: int = 30, *, duplicate_hash: bool) -> pl.DataFrame:
    """What deduplication hands to curated_documents: canonical columns, signals, content_hash, score."""
    now = datetime(2026, 11, 24, 2, tzinfo=UTC)
    texts = [f"Document {i}. The quick brown fox jumps over the lazy dog." for i in range(n)]
    df = pl.DataFrame(
        {
            "doc_id": [f"doc-{i:03d}" for i in range(n)],
            "text": texts,
            "source": ["s"] * n,
            "url": [f"https://example.org/{i}" for i in range(n)],
            "source_file": ["in/a.jsonl"] * n,
            "source_line": list(range(1, n + 1)),
            "lang": ["en" if i % 3 else "de" for i in range(n)],
            "created_at": [None] * n,
            "ingested_at": [now] * n,
            "partition": [P] * n,
            "metadata": ["{}"] * n,
        },
        schema=DOCUMENT_SCHEMA,
    ).with_columns(
        lang_detected=pl.col("lang"),
        n_chars=pl.col("text").str.len_chars(),
        gopher_symbol_word_ratio=pl.lit(0.01),
        content_hash=pl.col("text").hash(seed=3).cast(pl.String),
        quality_score=pl.lit(0.8),
        status=pl.lit("kept"),
    )
    if duplicate_hash:  # two different documents claim the same content hash: dedup went wrong
        df = df.with_columns(
            content_hash=pl.when(pl.col("doc_id").is_in(["doc-004", "doc-017"]))
            .then(pl.lit("deadbeef"))
            .otherwise("content_hash")
        )
    return df


def _store(home: Path, name: str, df: pl.DataFrame) -> None:
    d = home / "storage" / name
    d.mkdir(parents=True, exist_ok=True)
    df.write_parquet(d / f"{P}.parquet")


def _publish_run(recipe: Path, releases: Path) -> dg.ExecuteInProcessResult:
    """curated_documents -> curated_release with their checks (upstream tables come from storage)."""
    from assets.partitions import daily_partitions
    from pipelines.definitions import all_assets, defs

    wanted = {dg.AssetKey("curated_documents"), dg.AssetKey("curated_release")}
    assets = [a for a in all_assets if isinstance(a, dg.AssetsDefinition) and set(a.keys) & wanted]
    checks = [c for c in defs.asset_checks if {k.asset_key for k in c.check_keys} & wanted]
    # read from storage by the IO manager
    upstream = dg.AssetSpec("deduplicated_documents", partitions_def=daily_partitions).with_io_manager_key("io_manager")
    return dg.materialize(
        [*assets, *checks, upstream],
        partition_key=P,
        resources=resources_for(recipe, releases),
        raise_on_error=False,
    )


def _evaluation(result: dg.ExecuteInProcessResult, name: str):
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(found) == 1, [e.check_name for e in result.get_asset_check_evaluations()]
    return found[0]


def test_failing_curated_check_blocks_the_release_until_the_data_is_fixed(tmp_path, winnow_home):
    from assets.validation import CURATED_CHECK, MANIFEST_CHECK

    recipe = _recipe(tmp_path)
    releases = tmp_path / "releases"
    _store(winnow_home, "deduplicated_documents", _deduplicated(duplicate_hash=True))

    bad = _publish_run(recipe, releases)
    assert not bad.success
    check = _evaluation(bad, CURATED_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    md = check.metadata
    assert md["failing_expectation"].value == "expect_column_values_to_be_unique"
    assert md["failing_column"].value == "content_hash"
    assert set(md["failing_doc_ids"].value) == {"doc-004", "doc-017"}
    docs = Path(md["data_docs"].value)
    assert docs.suffix == ".html" and docs.exists() and "content_hash" in docs.read_text()
    # the gate held: the curated table was written, the release was not
    assert [m.asset_key for m in bad.get_asset_materialization_events()] == [dg.AssetKey("curated_documents")]
    assert not (releases / "tiny").exists()
    summary = json.loads((winnow_home / "validation" / "curated_documents" / f"{P}.json").read_text())
    assert summary["success"] is False
    assert summary["failed_expectations"] == ["expect_column_values_to_be_unique"]

    _store(winnow_home, "deduplicated_documents", _deduplicated(duplicate_hash=False))
    good = _publish_run(recipe, releases)
    assert good.success
    assert _evaluation(good, CURATED_CHECK).passed
    assert {m.asset_key for m in good.get_asset_materialization_events()} == {
        dg.AssetKey("curated_documents"),
        dg.AssetKey("curated_release"),
    }
    manifest_check = _evaluation(good, MANIFEST_CHECK)
    assert manifest_check.passed, manifest_check.description
    release = releases / "tiny" / f"{P}-v1"
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["totals"]["rows"] == 30
    # the release manifest carries the (now passing) curated suite's summary
    assert manifest["checks"]["validation"]["curated_documents"]["success"] is True


def test_warn_only_lets_the_release_through_and_says_so(tmp_path, winnow_home):
    from assets.validation import CURATED_CHECK

    recipe = _recipe(tmp_path, "validation: {warn_only: [curated_documents]}\n")
    _store(winnow_home, "deduplicated_documents", _deduplicated(duplicate_hash=True))
    result = _publish_run(recipe, tmp_path / "releases")
    assert result.success
    check = _evaluation(result, CURATED_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "warn_only" in check.metadata
    assert (tmp_path / "releases" / "tiny" / f"{P}-v1" / "manifest.json").exists()


def test_a_clean_night_passes_every_gate_and_the_manifest_carries_the_summaries(tmp_path, winnow_home):
    from assets.validation import CURATED_CHECK, MANIFEST_CHECK, RAW_CHECK, SAMPLE_CHECK
    from pipelines.definitions import all_assets, asset_checks, nightly_curation

    recipe = _recipe(tmp_path, "sampling: {fraction: 0.3}\n")
    # these short repetitive documents fail the quality rules: what this test checks is the gates,
    # so an empty release may go out (publish.min_documents blocks it by default)
    recipe.write_text(
        recipe.read_text().replace("publish: {dataset: tiny}", "publish: {dataset: tiny, min_documents: 0}")
    )
    rows = [
        {
            "id": i,
            "text": f"Document {i}. " + "The quick brown fox jumps over the lazy dog. " * (3 + i % 7),
            "lang": "en",
        }
        for i in range(40)
    ]
    (tmp_path / "in" / P / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    defs = dg.Definitions(
        assets=all_assets,
        asset_checks=asset_checks,
        jobs=[nightly_curation],
        resources=resources_for(recipe, tmp_path / "releases", label_studio={"enabled": False}),
    )
    result = defs.resolve_job_def("nightly_curation").execute_in_process(partition_key=P)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in (RAW_CHECK, CURATED_CHECK, SAMPLE_CHECK, MANIFEST_CHECK):
        assert evaluations[name].passed, (name, evaluations[name].description)
        assert Path(evaluations[name].metadata["data_docs"].value).exists()
    assert evaluations[RAW_CHECK].metadata["rows"].value == 40
    for asset in ("raw_documents", "curated_documents", "annotation_sample", "curated_release"):
        assert json.loads((winnow_home / "validation" / asset / f"{P}.json").read_text())["success"] is True
    manifest = json.loads((tmp_path / "releases" / "tiny" / f"{P}-v1" / "manifest.json").read_text())
    assert {"raw_documents", "curated_documents", "annotation_sample"} <= set(manifest["checks"]["validation"])


def test_each_check_validates_tonight_only_so_a_bad_old_night_neither_blocks_nor_slows_it(tmp_path, winnow_home):
    from assets.validation import CURATED_CHECK

    recipe = _recipe(tmp_path)
    old_night = "2026-11-23"
    bad_old = _deduplicated(duplicate_hash=True).with_columns(partition=pl.lit(old_night))
    for name in ("deduplicated_documents", "curated_documents"):
        d = winnow_home / "storage" / name
        d.mkdir(parents=True, exist_ok=True)
        bad_old.write_parquet(d / f"{old_night}.parquet")
    _store(winnow_home, "deduplicated_documents", _deduplicated(duplicate_hash=False))
    result = _publish_run(recipe, tmp_path / "releases")
    assert result.success
    check = _evaluation(result, CURATED_CHECK)
    assert check.passed and check.metadata["rows"].value == 30  # not 60: the old night is not re-read


def test_a_mistyped_source_fails_the_ingest_check_and_the_night_stops_before_sampling(tmp_path, winnow_home):
    """0 documents used to pass all_files_readable and crash annotation_sample (#14, item 5)."""
    from pipelines.definitions import all_assets, asset_checks, nightly_curation

    recipe = _recipe(tmp_path)
    recipe.write_text(recipe.read_text().replace("'in/{partition}/*.jsonl'", "'in/{partition}/wrong/*.jsonl'"))
    defs = dg.Definitions(
        assets=all_assets,
        asset_checks=asset_checks,
        jobs=[nightly_curation],
        resources=resources_for(recipe, tmp_path / "releases", label_studio={"enabled": False}),
    )
    result = defs.resolve_job_def("nightly_curation").execute_in_process(partition_key=P, raise_on_error=False)
    assert not result.success
    files = next(e for e in result.get_asset_check_evaluations() if e.check_name == "all_files_readable")
    assert not files.passed and "no file matches" in files.description and "wrong/*.jsonl" in files.description
    failure = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key == "annotation_sample"
    )
    assert f"no documents for night {P}" in str(failure.event_specific_data.error)
    assert not (tmp_path / "releases" / "tiny").exists()
