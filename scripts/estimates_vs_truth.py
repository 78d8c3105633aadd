"""Every night's human estimates against the bundled sample's ground truth (after ``make demo-labels``).

    .venv/bin/python -m scripts.estimates_vs_truth

The truth is the careful annotator's decision from the sample's provenance
(``scripts/corpus/sample_truth.py``), computed over the night's whole population: every
curated document, every document the model dropped, and so on. Each row says whether
the 95% interval holds it.
"""

from __future__ import annotations

import sys

import polars as pl

from scripts.corpus.sample_truth import truth_for
from winnow.markdown import md_table
from winnow.settings import load_settings
from winnow.store import Store


def night_truth(store: Store, night: str) -> dict[str, float]:
    """The true keep share of each population of the night."""
    raw = store.collect("raw_documents", [night])
    scored = store.collect("scored_documents", [night])
    curated = store.collect("curated_documents", [night])
    if raw is None or scored is None:
        return {}
    truth = truth_for(raw, night)
    docs = scored.select("doc_id", "status", *(["model_keep"] if "model_keep" in scored.columns else [])).join(
        truth, on="doc_id", how="left"
    )
    share = lambda frame: float(frame["truth_keep"].cast(pl.Float64).mean()) if frame.height else None  # noqa: E731
    out = {
        "raw": share(docs),
        "kept": share(docs.filter(pl.col("status") == "kept")),
        "rejected": share(docs.filter(pl.col("status") == "rejected")),
    }
    if curated is not None:
        out["curated"] = share(docs.join(curated.select("doc_id"), on="doc_id", how="semi"))
    if "model_keep" in docs.columns:
        out["rejected:quality_model"] = share(
            docs.filter((pl.col("status") == "kept") & ~pl.col("model_keep").fill_null(True))
        )
    return out


def main() -> int:
    store = Store(load_settings().home)
    rows = []
    for path in store.table_files("quality_estimates"):
        night = path.stem
        truth = night_truth(store, night)
        est = pl.read_parquet(path).filter(
            pl.col("metric").is_in(["keep_share", "keep_share_corrected", "false_drop_rate"])
        )
        for r in est.iter_rows(named=True):
            t = truth.get(r["population"])
            if t is None or r["estimate"] is None:
                continue
            rows.append(
                {
                    "night": night,
                    "population": r["population"],
                    "metric": r["metric"],
                    "estimate [95% CI]": f"{r['estimate']:.3f} [{r['lower']:.3f}, {r['upper']:.3f}]",
                    "labels": r["n_labels"],
                    "labels_used": r.get("labels_used"),
                    "truth": round(t, 3),
                    "covered": r["lower"] <= t <= r["upper"],
                }
            )
    if not rows:
        print("no estimates yet: run `make demo-labels` first")
        return 1
    table = pl.DataFrame(rows)
    print(md_table(table, max_rows=500, max_cols=20))
    print(f"\ncovered: {int(table['covered'].sum())} of {table.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
