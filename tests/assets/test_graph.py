"""The whole nightly graph materializes on a partition, and the definitions load."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl

from tests.resources import resources_for
from winnow.publish.release import verify_release

P = "2026-11-24"


def _tiny_corpus(root: Path) -> Path:
    d = root / "in" / P
    d.mkdir(parents=True)
    rows = [
        {"id": i, "text": f"Document {i}. " + "The quick brown fox jumps over the lazy dog. " * 20} for i in range(60)
    ]
    rows += [{"id": 100 + i, "text": rows[i]["text"]} for i in range(5)]  # exact copies
    lines = [json.dumps(r) for r in rows] + ['{"id": "broken", "text": ']
    (d / "a.jsonl").write_text("\n".join(lines) + "\n")
    recipe = root / "recipe.yaml"
    recipe.write_text(
        "name: tiny\nversion: 1\nseed: 7\nsources:\n  - {name: s, path: 'in/{partition}/*.jsonl', format: jsonl}\n"
        "sampling: {fraction: 0.2}\npublish: {dataset: tiny, min_documents: 0}\n"  # repetitive text: all rejected
        "estimates: {on_insufficient_evidence: warn}\n"  # a cold-start night: no labels to judge by
    )
    return recipe


def test_whole_graph_materializes_a_partition(tmp_path, winnow_home):
    from pipelines.definitions import all_assets, defs

    recipe = _tiny_corpus(tmp_path)
    checks = list(defs.asset_checks or [])
    result = dg.materialize(
        [*all_assets, *checks],
        partition_key=P,
        resources=resources_for(recipe, tmp_path / "releases"),
    )
    assert result.success
    raw = pl.read_parquet(winnow_home / "storage" / "raw_documents" / f"{P}.parquet")
    q = pl.read_parquet(winnow_home / "storage" / "quarantine" / f"{P}.parquet")
    assert raw.height == 65 and q["reason"].to_list() == ["malformed_json"]
    release = tmp_path / "releases" / "tiny" / f"{P}-v1"
    assert verify_release(release) == []
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["totals"]["rows"] == pl.scan_parquet(release / "*.parquet").select(pl.len()).collect().item()
    sample = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{P}.parquet")
    assert sample.height > 0 and (sample["inclusion_prob"] > 0).all()


def test_definitions_load_and_have_the_nightly_job():
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert repo.has_job("nightly_curation")
    assert "nightly_curation_schedule" in [s.name for s in repo.schedule_defs]
