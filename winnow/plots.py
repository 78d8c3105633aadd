"""Every chart Winnow draws, as PNG bytes: the release's funnel and compute report, and the
charts the Dagster UI shows (the assets embed them with ``assets.metadata.png_md``).

Release charts are written without timestamps, so equal inputs give byte-identical files.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.patches
import matplotlib.ticker

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
import polars as pl

from winnow.markdown import fmt_count

if TYPE_CHECKING:
    from winnow.model.calibrate import Calibration

_MAX_BARS = 14


def _png(fig, dpi: int = 100) -> bytes:
    """PNG bytes with no timestamp or software version, so equal inputs give equal bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


_STAGE_COLORS = {"filter": "#c0504d", "dedup": "#f79646", "other": "#8064a2"}


def funnel_png(funnel: pl.DataFrame, title: str = "Curation funnel") -> bytes:
    """Horizontal bars: raw, the release, and documents and tokens removed per reason (by stage)."""
    removed = funnel.filter(pl.col("kind") == "removed").sort("tokens", descending=True)
    removed = removed.select("step", "stage", "documents", "tokens")
    if removed.height > _MAX_BARS:
        head = removed.head(_MAX_BARS - 1)
        rest = removed.slice(_MAX_BARS - 1)
        other = pl.DataFrame(
            {
                "step": [f"− {rest.height} other reasons"],
                "stage": [None],
                "documents": [int(rest["documents"].sum())],
                "tokens": [int(rest["tokens"].sum())],
            }
        )
        removed = pl.concat([head, other], how="vertical_relaxed")
    totals = funnel.filter(pl.col("kind") == "total").select("step", "stage", "documents", "tokens")
    rows = pl.concat([totals, removed], how="vertical_relaxed")
    labels = [s.split(" (")[0].replace("= ", "").replace("− ", "removed: ") for s in rows["step"].to_list()]
    colors = ["#999999", "#4f81bd"][: totals.height] + [
        _STAGE_COLORS.get(st, "#777777") for st in removed["stage"].to_list()
    ]
    labels, colors = labels[::-1], colors[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.38 * max(rows.height, 1)), sharey=True)
    for ax, col in ((axes[0], "documents"), (axes[1], "tokens")):
        vals = rows[col].to_list()[::-1]
        bars = ax.barh(range(len(vals)), vals, color=colors)
        ax.set_xlabel(col)
        ax.set_yticks(range(len(vals)), labels)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4))  # "1.25 M" labels: few, or they overlap
        ax.xaxis.set_major_formatter(lambda v, _pos: fmt_count(v))
        for b, v in zip(bars, vals):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " " + fmt_count(v), va="center", fontsize=8)
        ax.margins(x=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    handles = [
        matplotlib.patches.Patch(color=c, label=f"removed by {st}")
        for st, c in _STAGE_COLORS.items()
        if st in removed["stage"].to_list()
    ]
    if handles:
        axes[1].legend(handles=handles, frameon=False, fontsize=8, loc="lower right")
    fig.suptitle(title)
    return _png(fig)


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def compute_png(report: dict) -> bytes:
    """GPU-hours and cost, raw against curated, per model size; good tokens if estimated."""
    models = report["models"]
    cur = report["assumptions"]["currency"]
    good = report["good_tokens"]
    has_good = all(good.get(p) for p in ("raw", "curated"))
    fig, axes = plt.subplots(1, 2 if has_good else 1, figsize=(11 if has_good else 6.5, 3.6), squeeze=False)
    ax = axes[0][0]
    x = range(len(models))
    w = 0.38
    raw = [m["raw"]["gpu_hours"] for m in models]
    curated = [m["curated"]["gpu_hours"] for m in models]
    b1 = ax.bar([i - w / 2 for i in x], raw, w, label="raw", color="#c0504d")
    b2 = ax.bar([i + w / 2 for i in x], curated, w, label="curated", color="#4f81bd")
    for bars, ms, pop in ((b1, models, "raw"), (b2, models, "curated")):
        for b, m in zip(bars, ms):
            ax.text(
                b.get_x() + b.get_width() / 2,
                b.get_height(),
                f"{_money(m[pop]['cost'])} {cur}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(list(x), [f"{m['label']} params" for m in models])
    ax.set_ylabel("GPU-hours (one pass)")
    ax.set_title(f"Training compute, {report['assumptions']['gpu']}, MFU {report['assumptions']['mfu']:g}")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.15)
    if has_good:
        ax2 = axes[0][1]
        pops = ["raw", "curated"]
        tok = [report["tokens"][p] for p in pops]
        g = [good[p]["good_tokens"] for p in pops]
        lo = [max(0.0, good[p]["good_tokens"] - (good[p]["good_tokens_lower"] or good[p]["good_tokens"])) for p in pops]
        hi = [max(0.0, (good[p]["good_tokens_upper"] or good[p]["good_tokens"]) - good[p]["good_tokens"]) for p in pops]
        ax2.bar([0 - w / 2, 1 - w / 2], tok, w, label="all tokens", color="#bbbbbb")
        ax2.bar([0 + w / 2, 1 + w / 2], g, w, yerr=[lo, hi], capsize=4, label="good tokens (95% CI)", color="#9bbb59")
        ax2.set_xticks([0, 1], pops)
        ax2.set_ylabel("tokens")
        ax2.yaxis.set_major_formatter(lambda v, _pos: fmt_count(v))
        ax2.set_title("Human-estimated good tokens")
        ax2.legend(frameon=False)
        ax2.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# ----------------------------------------------------------------------------- UI charts
def _fig(w: float, h: float):
    return plt.subplots(figsize=(w, h))


def _ui_png(fig, dpi: int = 80) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def calibration_png(cal: Calibration) -> bytes | None:
    """Precision (and its lower bound) against the share of tokens kept, the target and the choice."""
    if cal.curve.height == 0:
        return None
    fig, ax = _fig(5.5, 3.6)
    c = cal.curve.sort("tokens_kept_share")
    ax.plot(c["tokens_kept_share"], c["precision"], color="#4c78a8", label="precision (human keep share)")
    ax.plot(
        c["tokens_kept_share"],
        c["precision_lower"],
        color="#4c78a8",
        ls=":",
        label=f"lower bound ({cal.confidence:.0%} one-sided)",
    )
    ax.axhline(cal.target_precision, color="#e45756", ls="--", lw=1, label=f"target {cal.target_precision:g}")
    if cal.reachable:
        ax.scatter(
            [cal.tokens_kept_share],
            [cal.precision],
            color="#e45756",
            zorder=5,
            label=f"threshold {cal.threshold:.3f}: {cal.tokens_kept_share:.0%} of tokens",
        )
    ax.set_xlabel("share of tokens kept (calibration labels, weighted)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("Keep precision vs tokens kept", fontsize=9)
    return _ui_png(fig)


def score_histogram_png(scores: pl.DataFrame, threshold: float | None = None) -> bytes | None:
    """Histogram of ``quality_score`` per ``status`` (kept / rejected), with the model threshold."""
    if scores.height == 0:
        return None
    fig, ax = _fig(5.5, 3.0)
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
    return _ui_png(fig)


def estimates_png(table: pl.DataFrame) -> bytes | None:
    """Point estimates with their intervals, one row per population and metric."""
    rows = table.filter(
        pl.col("metric").is_in(["keep_share", "token_keep_share", "false_drop_rate"]) & pl.col("estimate").is_not_null()
    )
    if rows.height == 0:
        return None
    fig, ax = _fig(6, 0.6 + 0.3 * rows.height)
    labels = [f"{p} · {m}" for p, m in zip(rows["population"], rows["metric"])][::-1]
    est = rows["estimate"].to_list()[::-1]
    lo = [max(0.0, e - (low if low is not None else e)) for e, low in zip(est, rows["lower"].to_list()[::-1])]
    hi = [max(0.0, (u if u is not None else e) - e) for e, u in zip(est, rows["upper"].to_list()[::-1])]
    ax.errorbar(est, range(len(est)), xerr=[lo, hi], fmt="o", color="#4c78a8", capsize=3)
    ax.set_yticks(range(len(est)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("human keep share (95% interval)")
    return _ui_png(fig)


#: colours of the rule families in the filtering funnel
FAMILY_COLORS = {
    "language": "#8064a2",
    "gopher_repetition": "#f79646",
    "gopher_quality": "#c0504d",
    "c4": "#4bacc6",
    "fineweb": "#9bbb59",
}


def rule_funnel_png(table: pl.DataFrame) -> bytes:
    """Two bar panels, documents and characters removed per reason, coloured by rule family."""
    removed = table.filter(pl.col("drop_reason") != "(kept)")
    kept = table.filter(pl.col("drop_reason") == "(kept)")
    rows = pl.concat([removed, kept]) if removed.height else kept
    labels = ["kept" if r == "(kept)" else f"{r}" for r in rows["drop_reason"].to_list()][::-1]
    colors = [FAMILY_COLORS.get(f, "#4f81bd" if f == "(kept)" else "#777777") for f in rows["drop_family"].to_list()][
        ::-1
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.3 + 0.34 * max(rows.height, 1)), sharey=True)
    for ax, col in ((axes[0], "documents"), (axes[1], "characters")):
        vals = rows[col].to_list()[::-1]
        bars = ax.barh(range(len(vals)), vals, color=colors)
        ax.set_yticks(range(len(vals)), labels)
        ax.set_xlabel(f"{col} removed (kept: last bar)")
        for b, v in zip(bars, vals):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {v:,}", va="center", fontsize=8)
        ax.margins(x=0.22)
        ax.spines[["top", "right"]].set_visible(False)
    present = set(rows["drop_family"].to_list())
    handles = [matplotlib.patches.Patch(color=c, label=f) for f, c in FAMILY_COLORS.items() if f in present]
    if handles:
        axes[1].legend(handles=handles, frameon=False, fontsize=8, loc="lower right")
    fig.suptitle("Filtering funnel: documents and characters removed per reason")
    return _png(fig, dpi=90)


def cluster_sizes_png(hist: pl.DataFrame) -> bytes:
    """Duplicate clusters per size bucket."""
    fig, ax = _fig(5, 2.6)
    ax.bar(hist["cluster size"].to_list(), hist["clusters"].to_list(), color="#4c72b0")
    ax.set_xlabel("documents per duplicate cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Duplicate cluster sizes")
    return _ui_png(fig, dpi=90)


def sample_png(sample: pl.DataFrame) -> bytes | None:
    """Rows sent for annotation per source and kind (stacked bars)."""
    if sample.height == 0:
        return None
    table = sample.with_columns(pl.col("source").fill_null("unknown")).group_by("source", "sample_kind").agg(n=pl.len())
    sources = sorted(table["source"].unique().to_list())
    fig, ax = _fig(5.5, 0.6 + 0.4 * len(sources))
    left = [0] * len(sources)
    for kind, color in (("random", "#4c78a8"), ("rejected", "#e45756"), ("active", "#f58518")):
        counts = dict(table.filter(pl.col("sample_kind") == kind).select("source", "n").iter_rows())
        vals = [counts.get(s, 0) for s in sources]
        ax.barh(sources, vals, left=left, color=color, label=kind)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_xlabel("documents sent for annotation")
    ax.legend(loc="lower right", fontsize=8)
    return _ui_png(fig)


def kappa_png(pairwise: pl.DataFrame) -> bytes | None:
    """Cohen's kappa per annotator pair on their shared items."""
    if pairwise.height == 0:
        return None
    fig, ax = _fig(5, 0.5 + 0.35 * pairwise.height)
    labels = [f"{a} / {b}" for a, b in zip(pairwise["annotator_a"], pairwise["annotator_b"])]
    ax.barh(labels, pairwise["cohen_kappa"].fill_null(0).to_list(), color="#4c78a8")
    ax.set_xlim(-1, 1)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("Cohen's kappa (keep/drop) on shared items")
    return _ui_png(fig)
