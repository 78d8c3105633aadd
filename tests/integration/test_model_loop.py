"""End to end with a real Label Studio: the human labels change the curated release.

1. The nightly graph runs on the bundled sample corpus (night 2026-11-24) in cold start:
   heuristic scores, the sample is pushed to Label Studio, a release is published.
2. A scripted annotator, with their own account, takes the project's next task and
   submits a decision, a rating and tags, as a person would, until the queue is empty.
   It judges by the corpus' provenance (tests/unit/test_model_fixture.py): real
   documentation is kept; boilerplate-wrapped, PII, spam, lorem, stub and code pages are
   dropped.
3. ``annotations`` pulls the labels; ``quality_model`` trains v0001.
4. The night is run again: scores now come from the model, ``curated_documents`` drops
   what the model scores under its calibrated threshold, and the republished release is
   smaller and measurably cleaner; ``quality_estimates`` judges the curated quality from
   the labels.
5. The next night's annotation batch carries the model's scores as pre-annotations.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from scripts.corpus.sample_truth import truth_for
from tests.integration.ls_server import server_settings
from tests.resources import resources_for

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio]

REPO = Path(__file__).resolve().parents[2]
N1, N2 = "2026-11-24", "2026-11-25"
TITLE = "Winnow IT model loop"


def _recipe(tmp_path: Path) -> Path:
    r = yaml.safe_load((REPO / "recipes" / "sample.yaml").read_text())
    for s in r["sources"]:
        s["path"] = s["path"].replace("../data", str(REPO / "data"))
        if "crawl" in s:
            s["crawl"]["url_blocklists"] = [
                b.replace("../data", str(REPO / "data")) for b in s["crawl"]["url_blocklists"]
            ]
    r["sampling"] = {
        "fraction": 0.15,
        "rejected_fraction": 0.03,
        "overlap_fraction": 0.0,
        "nightly_budget": 1000,
        "active_learning_share": 0.1,
    }
    r["annotation"] = {"project_title": TITLE}
    r["publish"] = {"dataset": "it-model-loop", "shard_target_mb": 1}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(r))
    return path


def _resources(recipe: Path, server) -> dict:
    return resources_for(
        recipe, recipe.parent / "releases", label_studio=server_settings(server, import_batch_size=200)
    )


def _nightly(recipe: Path, server, night: str) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import all_assets, defs
    from pipelines.jobs import nightly_keys

    result = dg.materialize(
        [*all_assets, *defs.asset_checks],
        selection=nightly_keys(all_assets),
        partition_key=night,
        resources=_resources(recipe, server),
    )
    assert result.success
    return result


def _meta(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    mats = result.asset_materializations_for_node(asset)
    return {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()}


def _truth(home: Path, night: str) -> pl.DataFrame:
    """doc_id -> the provenance kind of its content and the annotator's decision."""
    raw = pl.read_parquet(
        home / "storage" / "raw_documents" / f"{night}.parquet", columns=["doc_id", "source", "source_file", "url"]
    )
    out = truth_for(raw, night)
    assert out["content_kind"].null_count() == 0
    return out


def _label_everything(server, truth: pl.DataFrame) -> int:
    """The scripted annotator works through the queue in the browser's API: next task, submit, repeat."""
    from scripts.demo_annotate import label_queue
    from winnow.annotation.accounts import ensure_annotator
    from winnow.annotation.labelstudio import LabelStudioClient

    _, token = ensure_annotator(server.url, server.token, "curator@winnow.test", store=server.data / "annotators.env")
    me = LabelStudioClient(server.url, token)
    try:
        return label_queue(me, me.find_project(TITLE), dict(zip(truth["doc_id"], truth["content_kind"])), lead_time=6.0)
    finally:
        me.close()


def _release_ids(recipe: Path, night: str) -> pl.Series:
    folder = recipe.parent / "releases" / "it-model-loop" / f"{night}-v1"
    return pl.scan_parquet(folder / "*.parquet").select("doc_id").collect()["doc_id"]


def test_labels_train_the_model_and_change_the_curated_release(tmp_path, winnow_home, ls_server):
    from assets.model import CURATED_QUALITY_CHECK
    from pipelines.definitions import all_assets

    recipe = _recipe(tmp_path)

    # 1. cold start
    first = _nightly(recipe, ls_server, N1)
    assert _meta(first, "scored_documents")["score_source"] == "heuristic"
    pushed = _meta(first, "label_studio_tasks")
    sample = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{N1}.parquet")
    assert pushed["status"] == "pushed" and pushed["imported"] == sample.height
    check = next(e for e in first.get_asset_check_evaluations() if e.check_name == CURATED_QUALITY_CHECK)
    # no labels: insufficient evidence, which the sample recipe lets through with a warning
    assert check.passed and check.metadata["state"].value == "insufficient evidence"
    truth = _truth(winnow_home, N1)
    before = _release_ids(recipe, N1)
    before_share = truth.filter(pl.col("doc_id").is_in(before.implode()))["truth_keep"].mean()

    # 2. a person labels the whole queue
    assert _label_everything(ls_server, truth) == sample.height

    # 3. pull and train
    pulled = dg.materialize(
        all_assets, selection=["annotations", "annotator_agreement"], resources=_resources(recipe, ls_server)
    )
    assert pulled.success
    ann = pl.read_parquet(winnow_home / "storage" / "annotations" / "__all__.parquet")
    assert ann.height == sample.height and set(ann["sample_kind"]) == {"random", "rejected", "active"}
    trained = dg.materialize(all_assets, selection=["quality_model"], resources=_resources(recipe, ls_server))
    model = _meta(trained, "quality_model")
    print(
        f"quality model: {json.dumps({k: model[k] for k in ('version', 'cv_roc_auc', 'heuristic_roc_auc', 'threshold', 'precision_at_threshold', 'recall_at_threshold', 'tokens_kept_share_at_threshold')})}"
    )
    assert model["version"] == "v0001" and model["threshold_reachable"] is True
    assert model["cv_roc_auc"] > model["heuristic_roc_auc"]

    # 4. the night again, with the model
    again = _nightly(recipe, ls_server, N1)
    scored_meta = _meta(again, "scored_documents")
    assert scored_meta["score_source"] == "model" and scored_meta["model_version"] == "v0001"
    # the night's design was drawn once: the rerun keeps its sample (now with the model's scores)
    # and sends the annotators nothing new
    resample = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{N1}.parquet")
    assert set(resample["doc_id"]) == set(sample["doc_id"])
    assert _meta(again, "annotation_sample")["design"].startswith("kept")
    assert (resample["score_source"] == "model").all()
    pushed_again = _meta(again, "label_studio_tasks")
    assert pushed_again["already_sent"] == sample.height and pushed_again.get("imported", 0) == 0
    curated = _meta(again, "curated_documents")
    assert curated["dropped_under_model_threshold"] > 0
    after = _release_ids(recipe, N1)
    after_share = truth.filter(pl.col("doc_id").is_in(after.implode()))["truth_keep"].mean()
    print(
        f"release {N1}-v1: {len(before)} -> {len(after)} documents; human-keep share "
        f"{before_share:.3f} -> {after_share:.3f}"
    )
    assert len(after) == len(before) - curated["dropped_under_model_threshold"]
    assert after_share > before_share + 0.15
    estimates = pl.read_parquet(winnow_home / "storage" / "quality_estimates" / f"{N1}.parquet")
    cur = estimates.filter((pl.col("population") == "curated") & (pl.col("metric") == "keep_share")).row(0, named=True)
    print(
        f"curated keep share estimate {cur['estimate']:.3f} [{cur['lower']:.3f}, {cur['upper']:.3f}] from "
        f"{cur['n_labels']} labels; truth {after_share:.3f}"
    )
    assert cur["lower"] <= after_share <= cur["upper"]
    check = next(e for e in again.get_asset_check_evaluations() if e.check_name == CURATED_QUALITY_CHECK)
    assert check.passed and "curated keep share" in check.metadata["reason"].value

    # 5. the next batch is pre-annotated with the model's scores
    nxt = _nightly(recipe, ls_server, N2)
    assert _meta(nxt, "label_studio_tasks")["imported"] > 0
    from winnow.annotation.labelstudio import LabelStudioClient

    admin = LabelStudioClient(ls_server.url, ls_server.token)
    try:
        tasks = [
            t for t in admin.iter_tasks(admin.find_project(TITLE), fields="all") if t["data"].get("partition") == N2
        ]
    finally:
        admin.close()
    scored2 = pl.read_parquet(
        winnow_home / "storage" / "scored_documents" / f"{N2}.parquet",
        columns=["doc_id", "quality_score", "score_source"],
    )
    scores = dict(zip(scored2["doc_id"], scored2["quality_score"]))
    active = [t for t in tasks if t["data"].get("sample_kind") == "active"]
    assert active and all(t["data"]["score_source"] == "model" for t in active)
    assert all(abs(t["data"]["quality_score"] - scores[t["data"]["doc_id"]]) < 1e-9 for t in active)
    assert all(t["predictions"] for t in active)
    # the probability sample is blind: no score and no pre-annotation
    blind = [t for t in tasks if t not in active]
    assert blind and not any(t["predictions"] or "quality_score" in t["data"] for t in blind)
