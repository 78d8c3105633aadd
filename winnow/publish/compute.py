"""The compute-savings report: what training on raw against curated data costs.

Training compute for a dense transformer with N parameters over D tokens (one pass)
is C = 6·N·D FLOPs (Kaplan et al. 2020). GPU-hours = C / (peak FLOP/s × MFU) / 3600;
cost = GPU-hours × price per GPU-hour. All constants come from the recipe
(``ComputeConfig``): by default an A100-class card at 312 TFLOP/s bf16, MFU 0.4 and
7.8 CNY per GPU-hour, for 1B and 7B models.

Quality-adjusted figures use the human-estimated share of good documents ("keep
share", from ``quality_estimates``): good tokens = tokens × share, with the share's 95%
interval carried through. Weighting tokens by a document-level share assumes good and
bad documents have the same length on average; the report says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import polars as pl

from schemas.recipe import ComputeConfig
from winnow.markdown import fmt_count, fmt_num, fmt_pct

FORMULA = "C = 6·N·D"
POPULATIONS = ("raw", "curated")


@dataclass(frozen=True)
class QualityShare:
    """A human-estimated share of good documents, with its interval."""

    estimate: float
    lower: float | None
    upper: float | None
    n_labels: int | None
    metric: str
    method: str | None


def training_flops(n_params: float, tokens: float) -> float:
    return 6.0 * n_params * tokens


def gpu_hours(flops: float, cfg: ComputeConfig) -> float:
    return flops / (cfg.peak_flops * cfg.mfu) / 3600.0


def gpu_cost(hours: float, cfg: ComputeConfig) -> float:
    return hours * cfg.price_per_gpu_hour


def model_label(n_params: float) -> str:
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n_params >= div:
            v = n_params / div
            return f"{v:g}{suffix}"
    return f"{n_params:g}"


def quality_shares(estimates: pl.DataFrame | None, metric: str = "keep_share") -> dict[str, QualityShare]:
    """Pick the keep share per population (raw, curated, ...) from a quality_estimates table.

    Uses rows whose ``metric`` equals ``metric``; if there are none, a metric whose name
    contains "keep" or "good". Populations are matched case-insensitively.
    """
    if estimates is None or estimates.height == 0 or not {"population", "metric", "estimate"} <= set(estimates.columns):
        return {}
    df = estimates.with_columns(pl.col("population").cast(pl.String).str.to_lowercase())
    chosen = df.filter(pl.col("metric") == metric)
    if chosen.height == 0:
        chosen = df.filter(pl.col("metric").cast(pl.String).str.to_lowercase().str.contains("keep|good"))
    out: dict[str, QualityShare] = {}
    for row in chosen.sort(["population", "metric"]).iter_rows(named=True):
        pop = row["population"]
        if (
            pop in out
            or row["estimate"] is None
            or (isinstance(row["estimate"], float) and math.isnan(row["estimate"]))
        ):
            continue
        out[pop] = QualityShare(
            estimate=float(row["estimate"]),
            lower=None if row.get("lower") is None else float(row["lower"]),
            upper=None if row.get("upper") is None else float(row["upper"]),
            n_labels=None if row.get("n_labels") is None else int(row["n_labels"]),
            metric=str(row["metric"]),
            method=None if row.get("method") is None else str(row["method"]),
        )
    return out


def _cost_block(tokens: float, n_params: float, cfg: ComputeConfig) -> dict:
    f = training_flops(n_params, tokens)
    h = gpu_hours(f, cfg)
    return {"tokens": tokens, "flops": f, "gpu_hours": h, "cost": gpu_cost(h, cfg)}


def _per_good(value: float, good: float | None) -> float | None:
    """``value`` per billion good tokens (None when there are no good tokens)."""
    if not good:
        return None
    return value / good * 1e9


def compute_report(
    tokens_raw: int,
    tokens_curated: int,
    cfg: ComputeConfig,
    quality: dict[str, QualityShare] | None = None,
) -> dict:
    """Tokens, FLOPs, GPU-hours and cost for raw against curated, per model size.

    ``quality`` maps population ("raw", "curated") to its keep share; when both are
    known, the quality-adjusted section gives good tokens and the GPU-hours and cost
    per billion good tokens.
    """
    quality = quality or {}
    tokens = {"raw": int(tokens_raw), "curated": int(tokens_curated)}
    removed = tokens["raw"] - tokens["curated"]
    good: dict[str, dict | None] = {}
    for pop in POPULATIONS:
        q = quality.get(pop)
        if q is None:
            good[pop] = None
            continue
        t = tokens[pop]
        good[pop] = {
            "share": q.estimate,
            "share_lower": q.lower,
            "share_upper": q.upper,
            "good_tokens": t * q.estimate,
            "good_tokens_lower": None if q.lower is None else t * q.lower,
            "good_tokens_upper": None if q.upper is None else t * q.upper,
        }
    models = []
    for n in cfg.model_sizes:
        raw = _cost_block(tokens["raw"], n, cfg)
        cur = _cost_block(tokens["curated"], n, cfg)
        entry = {
            "params": n,
            "label": model_label(n),
            "raw": raw,
            "curated": cur,
            "savings": {
                "tokens": removed,
                "flops": raw["flops"] - cur["flops"],
                "gpu_hours": raw["gpu_hours"] - cur["gpu_hours"],
                "cost": raw["cost"] - cur["cost"],
                "share": (removed / tokens["raw"]) if tokens["raw"] else 0.0,
            },
            "quality_adjusted": None,
        }
        if all(good[p] is not None for p in POPULATIONS):
            qa = {}
            for pop, block in (("raw", raw), ("curated", cur)):
                g = good[pop]
                qa[pop] = {
                    "good_tokens": g["good_tokens"],
                    "gpu_hours_per_1b_good_tokens": _per_good(block["gpu_hours"], g["good_tokens"]),
                    "cost_per_1b_good_tokens": _per_good(block["cost"], g["good_tokens"]),
                    # interval: fewer good tokens (lower share) means more cost per good token
                    "cost_per_1b_good_tokens_lower": _per_good(block["cost"], g["good_tokens_upper"]),
                    "cost_per_1b_good_tokens_upper": _per_good(block["cost"], g["good_tokens_lower"]),
                    "cost_on_not_good_tokens": block["cost"] * (1.0 - g["share"]),
                    "gpu_hours_on_not_good_tokens": block["gpu_hours"] * (1.0 - g["share"]),
                }
            r, c = qa["raw"]["cost_per_1b_good_tokens"], qa["curated"]["cost_per_1b_good_tokens"]
            qa["cost_per_good_token_saving_share"] = (1.0 - c / r) if r and c is not None else None
            qa["good_tokens_retained_share"] = (
                good["curated"]["good_tokens"] / good["raw"]["good_tokens"] if good["raw"]["good_tokens"] else None
            )
            entry["quality_adjusted"] = qa
        models.append(entry)
    return {
        "formula": FORMULA,
        "assumptions": {
            "flops_per_token_per_param": 6,
            "epochs": 1,
            "gpu": cfg.gpu_name,
            "peak_flops": cfg.peak_flops,
            "mfu": cfg.mfu,
            "price_per_gpu_hour": cfg.price_per_gpu_hour,
            "currency": cfg.currency,
            "quality_metric": cfg.quality_metric,
            "good_tokens_assume": "good and not-good documents have the same mean length",
        },
        "tokens": {**tokens, "removed": removed, "removed_share": (removed / tokens["raw"]) if tokens["raw"] else 0.0},
        "quality": {p: (asdict(quality[p]) if p in quality else None) for p in POPULATIONS},
        "good_tokens": good,
        "models": models,
    }


# --------------------------------------------------------------------------- Markdown
def report_markdown(report: dict, heading: str = "##") -> str:
    """The compute report as Markdown (used in the card, the .md file and Dagster metadata)."""
    a = report["assumptions"]
    cur = a["currency"]
    t = report["tokens"]
    lines = [
        f"{heading} Compute report",
        "",
        f"Training compute {report['formula']} (N parameters, D tokens, one pass). "
        f"GPU: {a['gpu']}, peak {a['peak_flops'] / 1e12:g} TFLOP/s, MFU {a['mfu']:g}, "
        f"{a['price_per_gpu_hour']:g} {cur} per GPU-hour.",
        "",
        f"Tokens: raw **{fmt_count(t['raw'])}** ({t['raw']:,}), curated **{fmt_count(t['curated'])}** "
        f"({t['curated']:,}); removed {fmt_count(t['removed'])} ({fmt_pct(t['removed_share'])}).",
        "",
        f"| model | data | tokens | FLOPs | GPU-hours | cost ({cur}) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in report["models"]:
        for pop in ("raw", "curated"):
            b = m[pop]
            lines.append(
                f"| {m['label']} | {pop} | {fmt_count(b['tokens'])} | {b['flops']:.3e} | "
                f"{fmt_num(b['gpu_hours'])} | {fmt_num(b['cost'])} |"
            )
        s = m["savings"]
        lines.append(
            f"| {m['label']} | **saved** | {fmt_count(s['tokens'])} | {s['flops']:.3e} | "
            f"**{fmt_num(s['gpu_hours'])}** | **{fmt_num(s['cost'])}** ({fmt_pct(s['share'])}) |"
        )
    lines.append("")
    lines.append(f"{heading}# Quality-adjusted (good tokens)")
    lines.append("")
    good = report["good_tokens"]
    if not all(good.get(p) for p in POPULATIONS):
        missing = [p for p in POPULATIONS if not good.get(p)]
        lines.append(
            "Not available yet (cold start): no human-estimated keep share for "
            + " and ".join(missing)
            + " in `quality_estimates`. It appears once enough documents are labelled."
        )
        return "\n".join(lines) + "\n"
    lines += [
        f"Good tokens = tokens × human-estimated keep share (metric `{a['quality_metric']}`, 95% interval); "
        f"assumes good and not-good documents have the same mean length.",
        "",
        "| data | keep share (95% CI) | good tokens (95% CI) |",
        "|---|---|---|",
    ]
    for pop in POPULATIONS:
        g = good[pop]
        ci = f"[{fmt_pct(g['share_lower'])}, {fmt_pct(g['share_upper'])}]"
        gci = f"[{fmt_count(g['good_tokens_lower'])}, {fmt_count(g['good_tokens_upper'])}]"
        lines.append(f"| {pop} | {fmt_pct(g['share'])} {ci} | {fmt_count(g['good_tokens'])} {gci} |")
    lines += [
        "",
        f"| model | data | GPU-hours per 1B good tokens | {cur} per 1B good tokens (95% CI) | {cur} spent on not-good tokens |",
        "|---|---|---:|---:|---:|",
    ]
    for m in report["models"]:
        qa = m["quality_adjusted"]
        for pop in POPULATIONS:
            q = qa[pop]
            ci = f"[{fmt_num(q['cost_per_1b_good_tokens_lower'])}, {fmt_num(q['cost_per_1b_good_tokens_upper'])}]"
            lines.append(
                f"| {m['label']} | {pop} | {fmt_num(q['gpu_hours_per_1b_good_tokens'])} | "
                f"{fmt_num(q['cost_per_1b_good_tokens'])} {ci} | {fmt_num(q['cost_on_not_good_tokens'])} |"
            )
    m0 = report["models"][0]["quality_adjusted"]
    lines += [
        "",
        f"Per good token, curated data costs {fmt_pct(m0['cost_per_good_token_saving_share'])} less compute than raw, "
        f"and keeps {fmt_pct(m0['good_tokens_retained_share'])} of raw's good tokens.",
    ]
    return "\n".join(lines) + "\n"
