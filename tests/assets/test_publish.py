"""curated_release as a Dagster asset: the real graph up to the release, on a tiny corpus."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl

from tests.resources import resources_for
from winnow.publish.release import read_latest, verify_release

P = "2026-11-24"


def _corpus(root: Path) -> Path:
    d = root / "in" / P
    d.mkdir(parents=True)
    words = [
        "the",
        "river",
        "crossed",
        "a",
        "quiet",
        "valley",
        "where",
        "farmers",
        "grew",
        "barley",
        "and",
        "old",
        "bridges",
        "carried",
        "carts",
        "toward",
        "market",
        "towns",
        "while",
        "children",
        "watched",
        "boats",
        "drift",
        "past",
        "stone",
        "mills",
    ]
    rows = [
        {
            "id": i,
            "text": f"Document {i}. " + " ".join(words[(i * 7 + j) % len(words)] for j in range(30 + i)) + ".",
            "lang": "en",
        }
        for i in range(80)
    ]  # 80 distinct texts
    rows += [{"id": 200 + i, "text": rows[i]["text"], "lang": "en"} for i in range(6)]  # exact copies
    (d / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    recipe = root / "recipe.yaml"
    recipe.write_text(
        "name: tiny\nversion: 2\nseed: 7\n"
        "sources:\n  - {name: s, path: 'in/{partition}/*.jsonl', format: jsonl, lang_field: lang}\n"
        "sampling: {fraction: 0.2}\npublish: {dataset: tiny, shard_target_mb: 0.001, row_group_rows: 4}\n"
        # this test is about publishing: rule filters and near-dedup off, exact dedup on
        "filters:\n"
        + "".join(
            f"  {f}: {{enabled: false}}\n" for f in ("gopher_quality", "gopher_repetition", "c4", "fineweb", "language")
        )
        + "dedup: {minhash: {enabled: false}}\n"
    )
    return recipe


def _run(recipe: Path, releases: Path, resources: dict | None = None) -> dg.ExecuteInProcessResult:
    """Materialize the night's path to the release (ingest .. curated_release) and nothing else."""
    from pipelines.definitions import all_assets

    selection = dg.AssetSelection.assets("curated_documents").upstream() | dg.AssetSelection.assets(
        "curated_release", "annotation_sample"
    )
    keys = selection.resolve(all_assets)
    needed = [a for a in all_assets if isinstance(a, dg.AssetsDefinition) and set(a.keys) & keys]
    return dg.materialize(
        needed,
        partition_key=P,
        resources=resources or resources_for(recipe, releases),
    )


def _shards(release: Path) -> dict[str, str]:
    m = json.loads((release / "manifest.json").read_text())
    return {s["file"]: s["sha256"] for s in m["shards"]}


def test_curated_release_publishes_with_card_report_metadata_and_check(tmp_path, winnow_home):
    recipe = _corpus(tmp_path)
    storage = winnow_home / "storage"
    (storage / "quality_estimates").mkdir(parents=True)
    pl.DataFrame(
        {
            "population": ["raw", "curated"],
            "metric": ["keep_share"] * 2,
            "estimate": [0.6, 0.9],
            "lower": [0.5, 0.8],
            "upper": [0.7, 0.95],
            "n_labels": [50, 40],
            "method": ["weighted"] * 2,
        }
    ).write_parquet(storage / "quality_estimates" / f"{P}.parquet")
    (winnow_home / "validation" / "raw_documents").mkdir(parents=True)
    (winnow_home / "validation" / "raw_documents" / f"{P}.json").write_text(json.dumps({"success": True}))

    winnow_home.chmod(0o755)  # a data directory made world-readable before (#14, item 18)
    result = _run(recipe, tmp_path / "releases")
    assert result.success
    release = tmp_path / "releases" / "tiny" / f"{P}-v2"
    assert verify_release(release) == []
    # releases are for training jobs: folders 0755, files 0644; the data directory is the owner's only
    assert release.stat().st_mode & 0o777 == 0o755
    assert {f.stat().st_mode & 0o777 for f in release.iterdir()} == {0o644}
    assert winnow_home.stat().st_mode & 0o777 == 0o700
    assert read_latest(release.parent) == f"{P}-v2"

    [mat] = result.asset_materializations_for_node("curated_release")
    md = mat.metadata
    rows = pl.scan_parquet(release / "*.parquet").select(pl.len()).collect().item()
    curated = pl.scan_parquet(storage / "curated_documents" / f"{P}.parquet").select(pl.len()).collect().item()
    assert md["dagster/row_count"].value == rows == curated == 80
    funnel = json.loads((release / "manifest.json").read_text())["funnel"]
    assert funnel[0]["documents"] == 86 and funnel[-1]["documents"] == rows  # raw: 80 + 6 copies
    assert md["version"].value == f"{P}-v2" and md["moved_latest"].value is True
    assert md["raw_tokens"].value > md["tokens"].value > 0
    assert md["funnel_chart"].value.startswith("![funnel](data:image/png;base64,")
    assert md["compute_chart"].value.startswith("![compute report](data:image/png;base64,")
    assert "duplicate_exact" in md["funnel"].value  # the 6 copies
    assert "Quality-adjusted" in md["compute_report"].value and "90.0%" in md["compute_report"].value
    assert md["gpu_hours_saved_7B"].value > 0
    assert not md["card"].value.startswith("---")  # front matter stripped for the UI
    [check] = [c for c in result.get_asset_check_evaluations() if c.asset_key == dg.AssetKey("curated_release")]
    assert check.check_name == "manifest_matches_files" and check.passed

    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["checks"]["validation"]["raw_documents"] == {"success": True}
    assert manifest["lineage"]["source_files"][0]["path"].endswith("in/2026-11-24/a.jsonl")
    assert "quality_estimates" in manifest["lineage"]["upstream_tables"]
    card = (release / "README.md").read_text()
    assert "0.9 [0.8, 0.95]" in card and "## Compute report" in card
    assert "Tonight's sample:" in card


def test_rerunning_the_whole_night_gives_byte_identical_shards(tmp_path, winnow_home):
    recipe = _corpus(tmp_path)
    assert _run(recipe, tmp_path / "r1").success
    assert _run(recipe, tmp_path / "r2").success  # re-ingests: new ingested_at, same release bytes
    a = tmp_path / "r1" / "tiny" / f"{P}-v2"
    b = tmp_path / "r2" / "tiny" / f"{P}-v2"
    assert _shards(a) == _shards(b) and len(_shards(a)) > 1
    for f in _shards(a):
        assert (a / f).read_bytes() == (b / f).read_bytes()


def test_operational_settings_never_change_a_release(tmp_path, winnow_home):
    """Batch sizes, workers, timeouts and Data Docs are settings, not recipe: same recipe hash, same bytes."""
    from pipelines.resources import build_resources
    from tests.resources import test_settings

    recipe = _corpus(tmp_path)
    assert _run(recipe, tmp_path / "r1").success
    ops = test_settings(recipe, tmp_path / "r2").model_copy(deep=True)
    ops.work.score_batch_rows, ops.work.dedup_batch_mb, ops.work.dedup_workers = 100, 0.001, 2
    ops.label_studio.timeout_s, ops.label_studio.retries, ops.validation.data_docs = 5, 0, False
    assert _run(recipe, tmp_path / "r2", build_resources(ops)).success
    a, b = (json.loads((tmp_path / r / "tiny" / f"{P}-v2" / "manifest.json").read_text()) for r in ("r1", "r2"))
    assert a["recipe"]["sha256"] == b["recipe"]["sha256"] and a["recipe"]["content"] == b["recipe"]["content"]
    assert _shards(tmp_path / "r1" / "tiny" / f"{P}-v2") == _shards(tmp_path / "r2" / "tiny" / f"{P}-v2")
