"""Scoring benchmark: Winnow's batched model scoring against a plain scikit-learn pipeline.

There is no reference tool for a classifier trained on our own labels, so the reference
is what one would write by hand with scikit-learn: read every text, then one
``make_pipeline(HashingVectorizer, LogisticRegression).predict_proba(texts)``. Both use
the same hashed word 1-2-gram text features on the first ``max_chars`` characters; Winnow
also builds its edge-line, category and numeric blocks (the numeric signals are absent from
the bench corpus and take their training means), and streams the corpus in batches of
``work.score_batch_rows`` documents (settings) instead of holding it.

The model is trained first (untimed) on the sample corpus' night 2026-11-24 with the
scripted annotator's labels (tests/unit/test_model_fixture.py), and the corpus
``.winnow/bench/corpus.jsonl`` (built by ``scripts/corpus/build_bench_corpus.py``) is
converted to one zstd Parquet file, the format the pipeline's tables have (untimed). Then,
each in its own niced subprocess, one after the other:

- ``winnow``: ``pl.scan_parquet -> winnow.model.scoring.score_documents -> sink_parquet``;
- ``sklearn``: ``read_parquet`` -> list of texts -> ``predict_proba`` -> Parquet.

Prints wall time, docs/s, MB/s (UTF-8 bytes of text), peak RSS and the ratios.

    python -m bench.model.run [--corpus PATH] [--limit-mb N]

Writes ``.winnow/bench/model/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import summary_markdown, write_results

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".winnow" / "bench" / "model"


def _train(model_path: Path) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    sys.path.insert(0, str(REPO))
    from schemas.recipe import ModelConfig
    from tests.unit.test_model_fixture import annotate, labelled_documents
    from winnow.model.features import TOKEN_PATTERN
    from winnow.model.train import aggregate_labels, train_quality_model
    from winnow.settings import Settings

    docs = labelled_documents("2026-11-24")
    pick = docs[np.random.default_rng(0).choice(docs.height, 400, replace=False)]
    labels, _ = aggregate_labels(annotate(pick, noise=0.03, seed=1))
    train = labels.join(docs.drop("truth_keep", "kind", "content_kind"), on="doc_id")
    cfg = ModelConfig()
    res = train_quality_model(train, cfg, seed=0)
    ref = make_pipeline(
        HashingVectorizer(
            n_features=cfg.n_features,
            ngram_range=(1, cfg.ngram_max),
            alternate_sign=False,
            norm="l2",
            token_pattern=TOKEN_PATTERN,
            dtype=np.float32,
        ),
        LogisticRegression(C=cfg.C, solver="liblinear", dual=True, max_iter=5000),
    )
    ref.fit(train["text"].str.slice(0, cfg.max_chars).to_list(), train["y_keep"].to_numpy())
    model_path.write_bytes(
        pickle.dumps(
            {
                "winnow": res.model,
                "sklearn": ref,
                "max_chars": cfg.max_chars,
                "batch_rows": Settings().work.score_batch_rows,
            }
        )
    )
    return {"labels": train.height, "cv_roc_auc": res.metrics["cv_roc_auc"]}


def _worker(tool: str, corpus: str, model_path: str, out: str, limit_rows: int | None) -> None:
    import polars as pl

    sys.path.insert(0, str(REPO))
    models = pickle.loads(Path(model_path).read_bytes())
    t0 = time.perf_counter()
    if tool == "winnow":
        from winnow.model.registry import LoadedModel
        from winnow.model.scoring import score_documents

        lf = pl.scan_parquet(corpus)
        if limit_rows:
            lf = lf.head(limit_rows)
        lf = lf.rename({"id": "doc_id"}).with_columns(source=pl.lit("bench"))
        loaded = LoadedModel(version="bench", model=models["winnow"], meta={"threshold": 0.5}, path=Path(model_path))
        scored = score_documents(lf, loaded, models["batch_rows"])
        scored.select("doc_id", "quality_score").sink_parquet(out)
        n = pl.scan_parquet(out).select(pl.len()).collect().item()
    else:
        df = pl.read_parquet(corpus)
        if limit_rows:
            df = df.head(limit_rows)
        texts = df["text"].str.slice(0, models["max_chars"]).to_list()
        p = models["sklearn"].predict_proba(texts)[:, 1]
        pl.DataFrame({"doc_id": df["id"], "quality_score": p}).write_parquet(out)
        n = df.height
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tool": tool, "docs": n, "seconds": seconds, "peak_rss_mb": rss_mb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(REPO / ".winnow" / "bench" / "corpus.jsonl"))
    ap.add_argument("--limit-rows", type=int, default=None)
    ap.add_argument("--worker", choices=["winnow", "sklearn"])
    ap.add_argument("--model")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.corpus, args.model, args.out, args.limit_rows)
        return
    corpus = Path(args.corpus)
    if not corpus.exists():
        sys.exit(f"{corpus}: bench corpus missing; build it with python scripts/corpus/build_bench_corpus.py")
    import polars as pl

    lf = pl.scan_ndjson(corpus, schema={"id": pl.String, "text": pl.String})
    if args.limit_rows:
        lf = lf.head(args.limit_rows)
    mb = lf.select(pl.col("text").str.len_bytes().sum()).collect().item() / 1e6
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        model = Path(tmp) / "models.pkl"
        trained = _train(model)
        parquet = Path(tmp) / "corpus.parquet"
        lf.select("id", "text").sink_parquet(parquet, compression="zstd", row_group_size=2000)
        results = {"corpus": str(corpus), "text_mb": round(mb, 1), "training": trained, "tools": {}}
        for tool in ("winnow", "sklearn"):
            cmd = [
                "nice",
                sys.executable,
                "-m",
                "bench.model.run",
                "--worker",
                tool,
                "--corpus",
                str(parquet),
                "--model",
                str(model),
                "--out",
                str(Path(tmp) / f"{tool}.parquet"),
            ]
            if args.limit_rows:
                cmd += ["--limit-rows", str(args.limit_rows)]
            proc = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
            )
            if proc.returncode:
                sys.exit(f"{tool} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["docs_per_s"] = r["docs"] / r["seconds"]
            r["mb_per_s"] = mb / r["seconds"]
            results["tools"][tool] = r
            print(
                f"{tool:8s} {r['docs']:>7d} docs  {r['seconds']:7.1f} s  {r['docs_per_s']:8.0f} docs/s  "
                f"{r['mb_per_s']:6.1f} MB/s  peak RSS {r['peak_rss_mb']:7.0f} MB"
            )
    w, s = results["tools"]["winnow"], results["tools"]["sklearn"]
    results["ratio_throughput"] = w["docs_per_s"] / s["docs_per_s"]
    results["ratio_peak_rss"] = w["peak_rss_mb"] / s["peak_rss_mb"]
    print(f"winnow / sklearn: throughput x{results['ratio_throughput']:.2f}, peak RSS x{results['ratio_peak_rss']:.2f}")
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    write_results(
        "model", results, summary_markdown({**results["tools"], **{k: v for k, v in results.items() if k != "tools"}})
    )


if __name__ == "__main__":
    main()
