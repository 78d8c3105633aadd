"""The model stage as Dagster assets: cold start, training, rescoring, curated threshold, estimates and their check.

Upstream tables (filtered/rejected documents, deduplicated documents, the annotation
sample and the annotations) are written to the temporary storage directly, so each step
materializes only the asset under test. The documents are the sample corpus' web pages
with real signals; the annotations come from the scripted annotator
(tests/unit/test_model_fixture.py).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from tests.resources import resources_for
from tests.unit.test_model_fixture import annotate, labelled_documents

P = "2026-11-24"


def _recipe(tmp_path: Path, extra: str = "") -> Path:
    f = tmp_path / "recipe.yaml"
    f.write_text(
        "name: model-test\nversion: 1\nseed: 11\n"
        "sources:\n  - {name: web, path: 'in/{partition}/*.jsonl', format: jsonl}\n"
        "sampling: {fraction: 0.5, rejected_fraction: 0.05, nightly_budget: 2000, active_learning_share: 0.1}\n" + extra
    )
    return f


def _store(home: Path, name: str, df: pl.DataFrame, partition: str | None = P) -> Path:
    d = home / "storage" / name
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{partition or '__all__'}.parquet"
    df.write_parquet(path)
    return path


def _read(home: Path, name: str, partition: str | None = P) -> pl.DataFrame:
    return pl.read_parquet(home / "storage" / name / f"{partition or '__all__'}.parquet")


def _run(recipe: Path, selected: list, upstream: list[str], raise_on_error: bool = True, partition: str | None = P):
    from assets.partitions import daily_partitions

    specs = [dg.AssetSpec(name, partitions_def=daily_partitions).with_io_manager_key("io_manager") for name in upstream]
    return dg.materialize(
        [*selected, *specs],
        partition_key=partition,
        raise_on_error=raise_on_error,
        resources=resources_for(recipe),
    )


def _meta(result, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    assert len(mats) == 1
    return {k: getattr(v, "value", v) for k, v in mats[0].materialization.metadata.items()}


def _check(result, name: str):
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(found) == 1
    return found[0]


def test_model_loop_from_cold_start_to_curated_threshold_and_estimates(tmp_path, winnow_home):
    from assets.model import CURATED_QUALITY_CHECK, quality_estimates, quality_model, scored_documents
    from assets.publish import curated_documents
    from schemas.documents import ANNOTATION_SCHEMA
    from schemas.recipe import load_recipe
    from winnow.annotation.sampling import select_sample

    recipe = _recipe(tmp_path)
    docs = labelled_documents(P)
    truth = docs.select("doc_id", "truth_keep", "kind")
    signals = docs.drop("truth_keep", "kind", "content_kind", "status")
    _store(winnow_home, "filtered_documents", signals.filter(pl.col("keep")))
    _store(winnow_home, "rejected_documents", signals.filter(~pl.col("keep")))

    # 1. cold start: heuristic scores, no model, estimates pass their check for lack of labels
    cold = _run(recipe, [scored_documents], ["filtered_documents", "rejected_documents"])
    scored = _read(winnow_home, "scored_documents")
    assert scored.height == docs.height and set(scored["score_source"]) == {"heuristic"}
    assert scored.filter(pl.col("status") == "kept")["quality_score"].min() >= 0.5
    assert scored.filter(pl.col("status") == "rejected")["quality_score"].max() < 0.5
    assert _meta(cold, "scored_documents")["score_source"] == "heuristic"

    nomodel = _run(recipe, [quality_model], [], partition=None)
    meta = _meta(nomodel, "quality_model")
    assert meta["status"].startswith("cold start: 0 labelled documents") and meta["version"] == "none"
    assert not (winnow_home / "models" / "LATEST").exists()

    _store(winnow_home, "deduplicated_documents", scored.filter(pl.col("status") == "kept"))
    est0 = _run(
        recipe, [quality_estimates, curated_documents], ["scored_documents", "deduplicated_documents"],
        raise_on_error=False,
    )  # fmt: skip
    assert _meta(est0, "quality_estimates")["status"].startswith("no labels for 2026-11-24")
    chk = _check(est0, CURATED_QUALITY_CHECK)
    # no silent pass without labels: insufficient evidence, which blocks by default
    assert not chk.passed and chk.metadata["state"].value == "insufficient evidence"
    assert "no held-out random-sample labels" in chk.metadata["reason"].value
    assert _read(winnow_home, "curated_documents").height == scored.filter(pl.col("status") == "kept").height

    # 2. humans label the sample (random + rejected slice + active), the model trains
    sample = select_sample(
        pl.scan_parquet(winnow_home / "storage" / "scored_documents" / f"{P}.parquet"), load_recipe(recipe)
    ).collect()
    _store(winnow_home, "annotation_sample", sample)
    kinds = sample.join(truth, on="doc_id")
    parts = [
        annotate(kinds.filter(pl.col("sample_kind") == k), noise=0.03, seed=i, sample_kind=k).with_columns(
            stratum=kinds.filter(pl.col("sample_kind") == k)["stratum"],
            inclusion_prob=kinds.filter(pl.col("sample_kind") == k)["inclusion_prob"],
        )
        for i, k in enumerate(("random", "rejected", "active"))
    ]
    ann = pl.concat(parts).with_columns(partition=pl.lit(P))
    ann = ann.with_columns(
        [pl.lit(None, dtype=t).alias(c) for c, t in ANNOTATION_SCHEMA.items() if c not in ann.columns]
    )
    _store(winnow_home, "annotations", ann.select(list(ANNOTATION_SCHEMA)), partition=None)

    trained = _run(recipe, [quality_model], [], partition=None)
    meta = _meta(trained, "quality_model")
    assert meta["version"] == "v0001" and meta["status"] == "trained v0001"
    assert meta["cv_roc_auc"] > meta["heuristic_roc_auc"] + 0.1
    assert meta["threshold_reachable"] is True and meta["precision_at_threshold"] >= 0.9
    assert "precision_vs_tokens" in meta and meta["precision_vs_tokens"].startswith(
        "![precision vs tokens kept](data:image/png;base64,"
    )
    assert (winnow_home / "models" / "LATEST").read_text().strip() == "v0001"
    history = _read(winnow_home, "quality_model", None)
    assert history["version"].to_list() == ["v0001"] and history["latest"].to_list() == [True]

    # same labels and settings: no new version
    again = _run(recipe, [quality_model], [], partition=None)
    assert _meta(again, "quality_model")["version"] == "v0001"
    assert sorted(p.name for p in (winnow_home / "models").iterdir() if p.is_dir()) == ["v0001"]

    # 3. rescoring uses the model; curated drops filter-kept documents under the threshold, nothing lost
    warm = _run(recipe, [scored_documents], ["filtered_documents", "rejected_documents"])
    scored = _read(winnow_home, "scored_documents")
    assert set(scored["score_source"]) == {"model"} and set(scored["model_version"]) == {"v0001"}
    assert _meta(warm, "scored_documents")["model_version"] == "v0001"
    kept = scored.filter(pl.col("status") == "kept")
    under = kept.filter(~pl.col("model_keep"))
    assert under.height > 0
    _store(winnow_home, "deduplicated_documents", kept)
    est = _run(recipe, [quality_estimates, curated_documents], ["scored_documents", "deduplicated_documents"])
    curated = _read(winnow_home, "curated_documents")
    assert curated.height == kept.height - under.height
    assert _meta(est, "curated_documents")["dropped_under_model_threshold"] == under.height
    # the model's drops are mostly what humans drop; the curated set is cleaner than what the filters kept
    # (the model trains on half the random labels: the other half is held out to measure it)
    dropped_truth = under.join(truth, on="doc_id")["truth_keep"].mean()
    assert dropped_truth < 0.35
    cur_truth = curated.join(truth, on="doc_id")["truth_keep"].mean()
    kept_truth = kept.join(truth, on="doc_id")["truth_keep"].mean()
    assert cur_truth > kept_truth + 0.2

    # 4. estimates: per population and metric, intervals around the truth, check judged
    table = _read(winnow_home, "quality_estimates")
    assert set(table.columns) >= {"population", "metric", "estimate", "lower", "upper", "n_labels", "method"}
    pops = set(table["population"])
    assert {"raw", "kept", "curated", "rejected"} <= pops
    assert any(p.startswith("rejected:") for p in pops)
    raw = table.filter((pl.col("population") == "raw") & (pl.col("metric") == "keep_share")).row(0, named=True)
    assert raw["lower"] <= docs["truth_keep"].mean() + 0.03 and raw["upper"] >= docs["truth_keep"].mean() - 0.03
    assert raw["lower"] < raw["estimate"] < raw["upper"]
    assert set(table.filter(pl.col("population").str.starts_with("rejected:"))["metric"]) == {"false_drop_rate"}
    meta = _meta(est, "quality_estimates")
    assert meta["active_labels_excluded"] == sample.filter(pl.col("sample_kind") == "active").height
    assert meta["design_labels"] == sample.filter(pl.col("sample_kind") != "active").height
    # the label-tuned threshold table: a rule, a language, its drop precision and a suggestion
    suggestions = meta["threshold_suggestions"]
    assert suggestions.startswith("| rule | language | current | fails | precision |")
    assert "| en |" in suggestions and "labels)" in suggestions
    chk = _check(est, CURATED_QUALITY_CHECK)
    assert chk.passed, chk.metadata["reason"].value

    # 5. a stricter minimum fails the (blocking) check
    strict = _recipe(tmp_path, "estimates: {min_curated_quality: 0.999}\n")
    bad = _run(strict, [quality_estimates], ["scored_documents", "curated_documents"], raise_on_error=False)
    chk = _check(bad, CURATED_QUALITY_CHECK)
    assert not chk.passed and chk.severity == dg.AssetCheckSeverity.ERROR
    assert chk.metadata["state"].value in ("fail", "insufficient evidence")
    assert "0.999" in chk.metadata["reason"].value
