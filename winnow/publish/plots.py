"""PNG charts for the card and the Dagster UI: the funnel and the compute report."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from winnow.publish.compute import fmt_count  # noqa: E402

_MAX_BARS = 14


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # no timestamps or software version in the PNG, so equal inputs give equal bytes
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
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
        other = pl.DataFrame({"step": [f"− {rest.height} other reasons"], "stage": [None],
                              "documents": [int(rest["documents"].sum())], "tokens": [int(rest["tokens"].sum())]})
        removed = pl.concat([head, other], how="vertical_relaxed")
    totals = funnel.filter(pl.col("kind") == "total").select("step", "stage", "documents", "tokens")
    rows = pl.concat([totals, removed], how="vertical_relaxed")
    labels = [s.split(" (")[0].replace("= ", "").replace("− ", "removed: ") for s in rows["step"].to_list()]
    colors = ["#999999", "#4f81bd"][: totals.height] + [_STAGE_COLORS.get(st, "#777777") for st in removed["stage"].to_list()]
    labels, colors = labels[::-1], colors[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.38 * max(rows.height, 1)), sharey=True)
    for ax, col in ((axes[0], "documents"), (axes[1], "tokens")):
        vals = rows[col].to_list()[::-1]
        bars = ax.barh(range(len(vals)), vals, color=colors)
        ax.set_xlabel(col)
        ax.set_yticks(range(len(vals)), labels)
        ax.xaxis.set_major_formatter(lambda v, _pos: fmt_count(v))
        for b, v in zip(bars, vals):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " " + fmt_count(v), va="center", fontsize=8)
        ax.margins(x=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    handles = [matplotlib.patches.Patch(color=c, label=f"removed by {st}") for st, c in _STAGE_COLORS.items()
               if st in removed["stage"].to_list()]
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
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{_money(m[pop]['cost'])} {cur}",
                    ha="center", va="bottom", fontsize=8)
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
        lo = [good[p]["good_tokens"] - (good[p]["good_tokens_lower"] or good[p]["good_tokens"]) for p in pops]
        hi = [(good[p]["good_tokens_upper"] or good[p]["good_tokens"]) - good[p]["good_tokens"] for p in pops]
        ax2.bar([0 - w / 2, 1 - w / 2], tok, w, label="all tokens", color="#bbbbbb")
        ax2.bar([0 + w / 2, 1 + w / 2], g, w, yerr=[lo, hi], capsize=4, label="good tokens (95% CI)", color="#9bbb59")
        ax2.set_xticks([0, 1], pops)
        ax2.set_ylabel("tokens")
        ax2.yaxis.set_major_formatter(lambda v, _pos: fmt_count(v))
        ax2.set_title("Human-estimated good tokens")
        ax2.legend(frameon=False)
        ax2.spines[["top", "right"]].set_visible(False)
    return _png(fig)
