"""The quality classifier: it beats the heuristic baseline on a labelled fixture; features, cold
start, the versioned registry and scoring, including bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from schemas.documents import model_drop_expr
from schemas.recipe import ModelConfig
from tests.unit.test_model_fixture import annotate, labelled_documents
from winnow.model.features import FeatureSpec, Featurizer, numeric_feature_columns
from winnow.model.registry import ModelRegistry, RegistryError
from winnow.model.scoring import heuristic_score, score_documents
from winnow.model.train import (
    TrainingError,
    aggregate_labels,
    heuristic_baseline,
    labels_fingerprint,
    load_label_documents,
    ready_to_train,
    train_quality_model,
)

TRUTH_COLUMNS = ["truth_keep", "kind", "content_kind"]


@pytest.fixture(scope="module")
def trained():
    """A model trained on 400 scripted labels of night 1 (random kept + rejected slice)."""
    night1 = labelled_documents("2026-11-24")
    rng = np.random.default_rng(42)
    pick = night1[rng.choice(night1.height, 400, replace=False)]
    kinds = np.where(pick["status"] == "kept", "random", "rejected")
    ann = pl.concat(
        [
            annotate(pick.filter(pl.Series(kinds == k)), noise=0.03, seed=i, sample_kind=k, inclusion_prob=0.2)
            for i, k in enumerate(("random", "rejected"))
        ]
    )
    labels, problems = aggregate_labels(ann)
    assert problems == []
    train = labels.join(night1.drop(TRUTH_COLUMNS), on="doc_id")
    return train_quality_model(train, ModelConfig(target_precision=0.85), seed=1)


def test_model_beats_the_heuristic_baseline_on_the_next_night(trained):
    """ROC-AUC against the truth on night 2 (2026-11-25, never seen in training)."""
    night2 = labelled_documents("2026-11-25")
    truth = night2["truth_keep"].to_numpy()
    model_auc = roc_auc_score(truth, trained.model.predict(night2.drop(TRUTH_COLUMNS)))
    heur_auc = roc_auc_score(truth, heuristic_baseline(night2.drop(TRUTH_COLUMNS)))
    kept = (night2["status"] == "kept").to_numpy()
    kept_model = roc_auc_score(truth[kept], trained.model.predict(night2.filter(pl.Series(kept))))
    kept_heur = roc_auc_score(truth[kept], heuristic_baseline(night2.filter(pl.Series(kept))))
    print(
        f"night 2 ROC-AUC: model {model_auc:.3f} vs heuristic {heur_auc:.3f} on {night2.height} documents; "
        f"filter-kept only: model {kept_model:.3f} vs heuristic {kept_heur:.3f}; "
        f"cross-validated on night 1: {trained.metrics['cv_roc_auc']:.3f} vs {trained.metrics['heuristic_roc_auc']:.3f}"
    )
    assert model_auc > 0.9 and model_auc > heur_auc + 0.2
    assert kept_model > kept_heur + 0.2
    assert trained.metrics["cv_roc_auc"] > trained.metrics["heuristic_roc_auc"] + 0.2


def test_metrics_record_auc_threshold_precision_recall(trained):
    m = trained.metrics
    assert m["cv_folds"] == 5 and 0.5 < m["cv_roc_auc"] <= 1
    assert m["threshold_reachable"] and 0 < m["threshold"] < 1
    assert m["precision_lower_at_threshold"] >= 0.85 and 0 < m["recall_at_threshold"] <= 1
    assert m["n_numeric_features"] >= 40  # the signals of issue 3 are used
    assert trained.oof.height == 400 and trained.oof["oof_score"].is_between(0, 1).all()


def test_numeric_features_exclude_ids_labels_and_model_outputs():
    schema = {
        "doc_id": pl.String,
        "source_line": pl.Int64,
        "n_words": pl.Int64,
        "lang_score": pl.Float64,
        "keep": pl.Boolean,
        "quality_score": pl.Float64,
        "model_keep": pl.Boolean,
        "inclusion_prob": pl.Float64,
        "rating": pl.Int64,
        "text": pl.String,
        "_tmp": pl.Float64,
        "gopher_dup_line_frac": pl.Float64,
    }
    assert numeric_feature_columns(schema) == ["n_words", "lang_score", "keep", "gopher_dup_line_frac"]


def test_featurizer_handles_missing_columns_nulls_and_odd_text():
    spec = FeatureSpec(numeric=["n_words", "ratio"], n_features=64)
    train = pl.DataFrame({"text": ["a b c", "d e f"], "n_words": [3, 300], "ratio": [0.1, 0.2]})
    f = Featurizer(spec).fit(train)
    odd = pl.DataFrame(
        {
            "text": [None, "", "\x00\x01", "软件包管理系统", "x\n\nnav | home\n\nbody\n\nfooter"],
            "n_words": [None, 0, 1, 2, float("nan")],
        },
        strict=False,
    )
    x = f.transform(odd)  # "ratio" is missing entirely
    assert x.shape == (5, 2 + 64 + 2**16 + 1024)
    assert np.isfinite(x.toarray()).all()
    # a missing value sits at the training mean (0 after scaling)
    assert x[0, 0] == 0 and x[0, 1] == 0
    assert f._edge_text(odd)[4] == "x\nfooter"


def test_cold_start_below_min_labels_or_without_both_decisions():
    cfg = ModelConfig(min_labels=10, min_per_class=3)
    few = pl.DataFrame({"doc_id": [str(i) for i in range(9)], "y_keep": [True, False] * 4 + [True]})
    ok, why = ready_to_train(few, cfg)
    assert not ok and "cold start: 9 labelled documents" in why and "min_labels = 10" in why
    one_sided = pl.DataFrame({"doc_id": [str(i) for i in range(20)], "y_keep": [True] * 18 + [False] * 2})
    ok, why = ready_to_train(one_sided, cfg)
    assert not ok and "2 drop labels" in why
    assert not ready_to_train(one_sided, ModelConfig(enabled=False))[0]
    with pytest.raises(TrainingError, match="cold start"):
        train_quality_model(few.with_columns(weight=pl.lit(1.0)), cfg)


def test_labels_without_decisions_are_reported():
    ann = pl.DataFrame({"doc_id": ["a", "b", None], "decision": ["keep", None, "drop"]})
    labels, problems = aggregate_labels(ann)
    assert labels["doc_id"].to_list() == ["a"]
    assert len(problems) == 2 and "row 1 (doc_id 'b')" in problems[0]
    with pytest.raises(TrainingError, match="missing column"):
        aggregate_labels(pl.DataFrame({"doc_id": ["a"]}))


def test_registry_versions_latest_and_reuse(tmp_path, trained):
    reg = ModelRegistry(tmp_path / "models")
    assert reg.load() is None and reg.versions() == []
    v1 = reg.save(
        trained.model, {"fingerprint": "abc", "threshold": trained.calibration.threshold}, trained.calibration.curve
    )
    v2 = reg.save(trained.model, {"fingerprint": "def", "threshold": 0.7})
    assert (v1, v2) == ("v0001", "v0002") and reg.latest_version() == "v0002"
    assert reg.find_fingerprint("abc") == "v0001" and reg.find_fingerprint("zzz") is None
    reg.set_latest("v0001")
    loaded = reg.load()
    assert loaded.version == "v0001" and loaded.threshold == trained.calibration.threshold
    assert (tmp_path / "models" / "v0001" / "calibration.parquet").exists()
    (tmp_path / "models" / "LATEST").write_text("v0009\n")
    with pytest.raises(RegistryError, match="LATEST: names 'v0009'"):
        reg.load()


def test_fingerprint_changes_with_labels_and_settings():
    labels = pl.DataFrame({"doc_id": ["a", "b"], "y": [1.0, 0.0], "weight": [1.0, 1.0], "sample_kind": ["random"] * 2})
    base = labels_fingerprint(labels, ModelConfig(), 0)
    assert base == labels_fingerprint(labels.reverse(), ModelConfig(), 0)
    assert base != labels_fingerprint(labels.with_columns(y=pl.Series([1.0, 1.0])), ModelConfig(), 0)
    assert base != labels_fingerprint(labels, ModelConfig(C=2.0), 0)


def test_scoring_with_and_without_a_model(tmp_path, trained):
    docs = labelled_documents("2026-11-25").drop(TRUTH_COLUMNS).head(300)
    heur = score_documents(docs.lazy()).collect()
    assert set(heur["score_source"]) == {"heuristic"} and heur["model_keep"].null_count() == 300
    reg = ModelRegistry(tmp_path / "models")
    reg.save(trained.model, {"threshold": trained.calibration.threshold})
    loaded = reg.load()
    scored = score_documents(docs.lazy(), loaded, batch_rows=128).collect()  # three batches
    assert scored.height == 300 and scored["doc_id"].to_list() == docs["doc_id"].to_list()
    assert set(scored["score_source"]) == {"model"} and set(scored["model_version"]) == {"v0001"}
    direct = trained.model.predict(docs)
    assert np.allclose(scored["quality_score"].to_numpy(), direct)
    assert (scored["model_keep"] == (scored["quality_score"] >= loaded.threshold)).all()
    dropped = scored.filter(model_drop_expr(scored.columns))
    assert dropped.height == int((direct < loaded.threshold).sum()) > 0
    # parts (kept, rejected) are scored one by one and stacked in order
    halves = [docs.head(100).lazy(), docs.tail(200).with_columns(extra=pl.lit(1)).lazy()]
    stacked = score_documents(halves, loaded, batch_rows=64).collect()
    assert stacked["doc_id"].to_list() == docs["doc_id"].to_list()
    assert np.allclose(stacked["quality_score"].to_numpy(), direct) and stacked["extra"].null_count() == 100


def test_heuristic_is_graded_inside_each_filter_outcome():
    df = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "status": ["kept", "kept", "rejected", "rejected"],
            "lang_score": [0.99, 0.6, 0.99, None],
            "gopher_dup_line_frac": [0.0, 0.5, 0.0, None],
        }
    )
    s = heuristic_score(df.lazy()).collect()["quality_score"].to_list()
    assert 0.5 <= s[1] < s[0] <= 1 and 0 <= s[3] < s[2] < 0.5
    assert s[3] == 0.25  # no signal at all: the middle of its half


def test_load_label_documents_reads_every_night_and_prefers_scored(tmp_path):
    for night, text in (("2026-11-24", "old"), ("2026-11-25", "new")):
        d = tmp_path / "scored_documents"
        d.mkdir(exist_ok=True)
        pl.DataFrame({"doc_id": ["a", "b"], "text": [text, text], "partition": [night] * 2}).write_parquet(
            d / f"{night}.parquet"
        )
    (tmp_path / "document_signals").mkdir()
    pl.DataFrame({"doc_id": ["c"], "text": ["sig"], "n_words": [1]}).write_parquet(
        tmp_path / "document_signals" / "2026-11-25.parquet"
    )
    tables = {n: sorted((tmp_path / n).glob("*.parquet")) for n in ("scored_documents", "document_signals")}
    got = load_label_documents(["a", "c", "zz"], tables).sort("doc_id")
    assert got["doc_id"].to_list() == ["a", "c"] and got["text"].to_list() == ["new", "sig"]


def test_the_model_file_holds_arrays_only_and_loads_to_the_same_scores(tmp_path, trained):
    """Models were pickled, so a swapped model.pkl ran a shell command (#14, item 16)."""
    reg = ModelRegistry(tmp_path / "models")
    reg.save(trained.model, {"threshold": trained.calibration.threshold})
    path = tmp_path / "models" / "v0001" / "model.npz"
    with np.load(path, allow_pickle=False) as z:  # every member is a plain array: nothing to unpickle
        assert sorted(z.files) == ["classes", "coef", "intercept", "mean", "settings", "std"]
    docs = labelled_documents("2026-11-25").drop(TRUTH_COLUMNS).head(200)
    assert np.allclose(reg.load().model.predict(docs), trained.model.predict(docs))


def test_a_pickled_model_is_never_loaded(tmp_path, trained):
    import pickle

    reg = ModelRegistry(tmp_path / "models")
    reg.save(trained.model, {"threshold": 0.5})
    folder = tmp_path / "models" / "v0001"
    (folder / "model.npz").unlink()
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (marker.write_text, ("ran",))

    (folder / "model.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(RegistryError, match="pickled model from an older Winnow"):
        reg.load()
    assert not marker.exists()


def _broken_registries(tmp_path, trained) -> dict:
    import shutil

    cases = {}
    for name in ("truncated", "replaced", "latest_missing", "meta_unreadable"):
        reg = ModelRegistry(tmp_path / name)
        reg.save(trained.model, {"threshold": 0.5})
        cases[name] = reg
    f = tmp_path / "truncated" / "v0001" / "model.npz"
    f.write_bytes(f.read_bytes()[:1000])
    other = ModelRegistry(tmp_path / "other")
    trained.model.threshold, keep = 0.1, trained.model.threshold
    other.save(trained.model, {"threshold": 0.1})
    trained.model.threshold = keep
    shutil.copy(tmp_path / "other" / "v0001" / "model.npz", tmp_path / "replaced" / "v0001" / "model.npz")
    (tmp_path / "latest_missing" / "LATEST").write_text("v0002\n")
    (tmp_path / "meta_unreadable" / "v0001" / "meta.json").write_text("{not json")
    return cases


def test_a_model_that_cannot_be_loaded_fails_scoring_unless_the_recipe_allows_a_fallback(tmp_path, trained):
    """A damaged model gave a green night on heuristic scores, changing what ships (#14, item 9)."""
    from winnow.model.lifecycle import scoring_model

    expected = {
        "truncated": "differs from",
        "replaced": "differs from",
        "latest_missing": "names 'v0002'",
        "meta_unreadable": "cannot read model metadata",
    }
    for name, reg in _broken_registries(tmp_path, trained).items():
        with pytest.raises(RegistryError) as err:
            scoring_model(reg, enabled=True)
        msg = str(err.value)
        assert expected[name] in msg and "model.fallback_to_heuristic: true" in msg, (name, msg)
        choice = scoring_model(reg, enabled=True, fallback_to_heuristic=True)
        assert choice.loaded is None and choice.failed and "fallback_to_heuristic" in choice.note
