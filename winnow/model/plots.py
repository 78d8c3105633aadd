"""Charts for the Dagster UI (PNG bytes; the assets embed them with ``assets.metadata.png_md``)."""

from __future__ import annotations

import io

import polars as pl

from winnow.model.calibrate import Calibration


def _fig(w: float, h: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w, h))
    return plt, fig, ax


def _png(plt, fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def calibration_png(cal: Calibration) -> bytes | None:
    """Precision (and its lower bound) against the share of tokens kept, the target and the choice."""
    if cal.curve.height == 0:
        return None
    plt, fig, ax = _fig(5.5, 3.6)
    c = cal.curve.sort("tokens_kept_share")
    ax.plot(c["tokens_kept_share"], c["precision"], color="#4c78a8", label="precision (human keep share)")
    ax.plot(c["tokens_kept_share"], c["precision_lower"], color="#4c78a8", ls=":",
            label=f"lower bound ({cal.confidence:.0%} one-sided)")
    ax.axhline(cal.target_precision, color="#e45756", ls="--", lw=1, label=f"target {cal.target_precision:g}")
    if cal.reachable:
        ax.scatter([cal.tokens_kept_share], [cal.precision], color="#e45756", zorder=5,
                   label=f"threshold {cal.threshold:.3f}: {cal.tokens_kept_share:.0%} of tokens")
    ax.set_xlabel("share of tokens kept (calibration labels, weighted)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("Keep precision vs tokens kept", fontsize=9)
    return _png(plt, fig)


def score_histogram_png(scores: pl.DataFrame, threshold: float | None = None) -> bytes | None:
    """Histogram of ``quality_score`` per ``status`` (kept / rejected), with the model threshold."""
    if scores.height == 0:
        return None
    plt, fig, ax = _fig(5.5, 3.0)
    bins = [i / 20 for i in range(21)]
    for status, color in (("kept", "#4c78a8"), ("rejected", "#e45756")):
        vals = scores.filter(pl.col("status") == status)["quality_score"].drop_nulls().to_list()
        if vals:
            ax.hist(vals, bins=bins, alpha=0.6, color=color, label=f"{status} by filters ({len(vals)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=1, label=f"model threshold {threshold:.3f}")
    ax.set_xlabel("quality_score")
    ax.set_ylabel("documents")
    ax.legend(fontsize=7)
    return _png(plt, fig)


def estimates_png(table: pl.DataFrame) -> bytes | None:
    """Point estimates with their intervals, one row per population and metric."""
    rows = table.filter(pl.col("metric").is_in(["keep_share", "token_keep_share", "false_drop_rate"])
                        & pl.col("estimate").is_not_null())
    if rows.height == 0:
        return None
    plt, fig, ax = _fig(6, 0.6 + 0.3 * rows.height)
    labels = [f"{p} · {m}" for p, m in zip(rows["population"], rows["metric"])][::-1]
    est = rows["estimate"].to_list()[::-1]
    lo = [max(0.0, e - (l if l is not None else e)) for e, l in zip(est, rows["lower"].to_list()[::-1])]
    hi = [max(0.0, (u if u is not None else e) - e) for e, u in zip(est, rows["upper"].to_list()[::-1])]
    ax.errorbar(est, range(len(est)), xerr=[lo, hi], fmt="o", color="#4c78a8", capsize=3)
    ax.set_yticks(range(len(est)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("human keep share (95% interval)")
    return _png(plt, fig)
