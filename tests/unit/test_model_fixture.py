"""A labelled fixture from the bundled sample corpus.

The scripted annotator's policy (keep real text and copies of it; drop boilerplate, PII,
spam, lorem, stubs and leaked code) lives in ``scripts/corpus/sample_truth.py``, shared with
the demo's annotators. Many boilerplate and PII pages pass the rule filters, so the human
labels carry information the heuristics lack: that is what the model must learn.

Other test modules import the builders; the tests here only check the fixture itself.
"""

from __future__ import annotations

import gzip
import io
import json
from functools import lru_cache

import numpy as np
import polars as pl

from scripts.corpus.sample_truth import (  # noqa: F401  (re-exported for the model tests)
    COPY_KINDS,
    DROP_KINDS,
    KEEP_KINDS,
    REPO,
    SAMPLE,
    human_keep,
    provenance,
)


def _read_web(partition: str, name: str) -> pl.DataFrame:
    raw = gzip.decompress((SAMPLE / partition / name).read_bytes())
    rows = [json.loads(line) for line in io.BytesIO(raw).read().decode("utf-8").splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "doc_id": [r["id"] for r in rows],
            "text": [r["text"] for r in rows],
            "lang": [r.get("lang") for r in rows],
            "url": [r.get("url") for r in rows],
        },
        schema={"doc_id": pl.String, "text": pl.String, "lang": pl.String, "url": pl.String},
    ).with_columns(source=pl.lit("web"), partition=pl.lit(partition))


@lru_cache(maxsize=4)
def labelled_documents(partition: str = "2026-11-24") -> pl.DataFrame:
    """The night's web documents with every signal, the filter outcome (status) and the human truth.

    Columns: the signals, ``keep``/``drop_reason``/``drop_family``, ``status``,
    ``kind``/``content_kind`` and ``truth_keep``.
    """
    from schemas.recipe import Recipe
    from winnow.filters import apply_filters
    from winnow.signals import compute_signals

    recipe = Recipe.model_validate(
        {"name": "t", "version": 1, "sources": [{"name": "web", "path": "x", "format": "jsonl"}]}
    )
    docs = _read_web(partition, "web.jsonl.gz")
    decided = apply_filters(compute_signals(docs.lazy(), recipe), recipe).collect()
    prov = provenance().select(pl.col("id").alias("doc_id"), "kind", "content_kind")
    out = decided.join(prov, on="doc_id", how="left").with_columns(
        status=pl.when(pl.col("keep")).then(pl.lit("kept")).otherwise(pl.lit("rejected")),
        truth_keep=human_keep(pl.col("content_kind")),
    )
    return out


def annotate(
    docs: pl.DataFrame,
    *,
    noise: float = 0.05,
    seed: int = 0,
    sample_kind: str = "random",
    inclusion_prob: float = 1.0,
    stratum: str | None = None,
) -> pl.DataFrame:
    """Scripted annotations (ANNOTATION_SCHEMA columns) of ``docs``: the truth, flipped with prob. ``noise``."""
    rng = np.random.default_rng(seed)
    truth = docs["truth_keep"].to_numpy()
    flip = rng.random(docs.height) < noise
    keep = truth ^ flip
    rating = np.where(keep, rng.integers(3, 6, docs.height), rng.integers(1, 3, docs.height))
    return pl.DataFrame(
        {
            "doc_id": docs["doc_id"],
            "annotator": ["scripted"] * docs.height,
            "decision": np.where(keep, "keep", "drop").tolist(),
            "rating": rating.astype(np.int64),
            "sample_kind": [sample_kind] * docs.height,
            "inclusion_prob": [inclusion_prob] * docs.height,
            "stratum": [stratum or "kept:web:en:q0.75-1.00"] * docs.height,
            "partition": docs["partition"] if "partition" in docs.columns else [None] * docs.height,
        }
    )


def test_fixture_has_both_decisions_and_filters_miss_some_drops():
    docs = labelled_documents()
    assert docs.height == 2000
    assert docs["content_kind"].null_count() == 0
    kept = docs.filter(pl.col("status") == "kept")
    # the filters keep documents a human drops (boilerplate, PII): room for a model to do better
    assert kept.filter(~pl.col("truth_keep")).height > 50
    assert 0.2 < docs["truth_keep"].mean() < 0.8


def test_scripted_annotator_noise_flips_about_the_asked_share():
    docs = labelled_documents()
    ann = annotate(docs, noise=0.1, seed=3)
    agree = (pl.Series(ann["decision"] == "keep") == docs["truth_keep"]).mean()
    assert 0.87 < agree < 0.93
    assert set(ann["decision"].unique().to_list()) == {"keep", "drop"}
