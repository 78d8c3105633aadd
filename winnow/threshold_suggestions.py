"""Thresholds that learn from people: each rule's drop precision per language, and a better value.

Winnow's human sample is a probability sample of the whole night, kept and rejected
documents alike (the random sample plus the rejected slice, with their inclusion weights),
so for any rule and language the labels measure what the rule removes:

* ``precision``: the share of the documents the rule fails that people call bad, with a 95%
  interval (the stratified ratio estimator of ``winnow.model.estimates``, whose coverage
  tests/simulation checks, thin per-language domains and partial labelling included);
* ``good_tokens_removed``: the tokens of the documents people would keep among those;
* ``suggested``: among candidate values (the signal's quantiles in that language, and the
  current value), the one that removes the most documents while the lower 95% bound of the
  precision of its drops stays at or above ``filters.target_drop_precision``; "off" when no
  value does. Fewer than ``filters.suggestion_min_labels`` labels in a candidate's drops: not
  judged. With few labels the answer is "off", which reads: the labels cannot yet vouch
  for any value of this rule in this language.

A rule is judged on its own: the documents it fails, whatever rule came first in the funnel
(the order decides which reason a document gets, not whether it goes). The table suggests
and never edits the recipe. Labels that tune a threshold should not also certify the
release it shapes: adopt a suggestion, then let the next nights' labels measure it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from schemas.recipe import FiltersConfig, Recipe
from winnow.filters import REGISTRY
from winnow.model.estimates import ratio_estimate
from winnow.signals import signal_schema
from winnow.signals.family import Family, Threshold
from winnow.tokens import n_tokens_expr

#: candidate values per rule and language: these quantiles of the signal, plus the current value
QUANTILES = np.linspace(0.02, 0.98, 25)

SCHEMA = {
    "family": pl.String,
    "rule": pl.String,
    "language": pl.String,
    "field": pl.String,
    "current": pl.Float64,
    "fails": pl.Int64,
    "labels": pl.Int64,
    "precision": pl.Float64,
    "precision_lower": pl.Float64,
    "precision_upper": pl.Float64,
    "good_tokens_removed": pl.Float64,
    "good_tokens_lower": pl.Float64,
    "good_tokens_upper": pl.Float64,
    "suggested": pl.String,
    "suggested_fails": pl.Int64,
    "suggested_precision": pl.Float64,
    "suggested_precision_lower": pl.Float64,
    "suggested_good_tokens_removed": pl.Float64,
    "note": pl.String,
}


class _Judge:
    """What a rule's keep expression does in one language: documents it fails, and the labels' verdict."""

    def __init__(self, frame: pl.DataFrame, pop: pl.DataFrame, lang: str, conf: float):
        self.frame, self.pop, self.conf = frame, pop, conf
        self.in_lang = (frame["lang_detected"] == lang).cast(pl.Float64).to_numpy()
        self.y = frame["y"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        self.code, self.big_n = frame["_code"].to_numpy(), frame["N_h"].cast(pl.Float64).to_numpy()
        self.tokens = frame["n_tokens"].cast(pl.Float64).fill_null(1.0).to_numpy()

    def __call__(self, keep: pl.Expr) -> dict:
        d = self.frame.select((~keep).cast(pl.Float64)).to_series().to_numpy() * self.in_lang
        fails = int(self.pop.select((~keep).sum()).item())
        fail_tokens = float(self.pop.select(pl.col("n_tokens").filter(~keep).sum()).item() or 0.0)
        y, code, big_n = self.y, self.code, self.big_n
        docs = ratio_estimate(y, np.ones_like(y), d, code, big_n, self.conf)
        toks = ratio_estimate(y, self.tokens, d, code, big_n, self.conf) if d.sum() else None
        good = (
            (toks.estimate * fail_tokens, toks.lower * fail_tokens, toks.upper * fail_tokens)
            if toks is not None and toks.estimate is not None and toks.lower is not None and toks.upper is not None
            else (None, None, None)
        )
        prec = (
            (1 - docs.estimate, 1 - docs.upper, 1 - docs.lower)
            if docs.estimate is not None and docs.lower is not None and docs.upper is not None
            else (None, None, None)
        )
        return {"fails": fails, "labels": docs.n_labels, "precision": prec, "good": good}


def _with_value(cfg: FiltersConfig, family: Family, th: Threshold, value: float) -> FiltersConfig:
    """``cfg`` with the threshold set to ``value`` (a dict entry for "top_n_grams.2")."""
    fam = getattr(cfg, family.name)
    name, _, key = th.field.partition(".")
    current = getattr(fam, name)
    cast = int if isinstance(current, int) and not isinstance(current, bool) else float
    new = dict(current) | {int(key): value} if key else cast(value)
    return cfg.model_copy(update={family.name: fam.model_copy(update={name: new})})


def _keep(cfg: FiltersConfig, family: Family, reason: str) -> pl.Expr:
    rules = dict(family.rules(cfg)) if family.enabled(cfg) else {}
    return rules.get(reason, pl.lit(True)).fill_null(True)


def suggestion_table(
    recipe: Recipe, units: pl.DataFrame, night: pl.DataFrame, confidence: float | None = None
) -> pl.DataFrame:
    """One row per (rule, language) the labels can judge; see the module doc.

    ``units``: the night's design units (``winnow.model.estimates.design_units``: ``doc_id``,
    ``_code``, ``N_h``, ``y``, labelled or not). ``night``: every document of the night with
    its signals, ``lang_detected`` and ``n_tokens``.
    """
    f = recipe.filters
    conf = recipe.estimates.confidence if confidence is None else confidence
    if units.height == 0 or units["y"].is_null().all():
        return pl.DataFrame(schema=SCHEMA)
    frame = units.select("doc_id", "_code", "N_h", "y").join(night, on="doc_id", how="inner")
    rows = []
    present = frame.filter(pl.col("y").is_not_null())["lang_detected"].drop_nulls().unique().sort().to_list()
    langs = [lang for lang in present if lang in f.language.allowed] if f.language.enabled else present
    for lang in langs:
        view = f.for_language(lang)
        pop = night.filter(pl.col("lang_detected") == lang)
        sample = frame.filter(pl.col("lang_detected") == lang)
        if sample.height == 0 or sample["y"].is_null().all():
            continue
        judge = _Judge(frame, pop, lang, conf)

        for family in REGISTRY:
            if not family.enabled(view):
                continue
            for reason, th in family.thresholds(view).items():
                current = th.value(getattr(view, family.name))
                if current is None or th.signal not in night.columns:
                    continue
                now = judge(_keep(view, family, reason))
                values = pop[th.signal].cast(pl.Float64).drop_nulls()
                candidates = (
                    sorted({current, *np.quantile(values.to_numpy(), QUANTILES).tolist()})
                    if values.len()
                    else [current]
                )
                best, best_j = None, None
                for v in candidates:
                    j = now if v == current else judge(_keep(_with_value(view, family, th, v), family, reason))
                    p = j["precision"][1]  # the lower bound: a suggestion the labels support, not a hunch
                    if j["labels"] < f.suggestion_min_labels or p is None or p < f.target_drop_precision:
                        continue
                    if best_j is None or j["fails"] > best_j["fails"]:
                        best, best_j = v, j
                if now["labels"] == 0 and best_j is None:
                    continue
                note = _note(current, best, now, f)
                rows.append(
                    {
                        "family": family.name,
                        "rule": reason,
                        "language": lang,
                        "field": f"{family.name}.{th.field}",
                        "current": current,
                        "fails": now["fails"],
                        "labels": now["labels"],
                        "precision": now["precision"][0],
                        "precision_lower": now["precision"][1],
                        "precision_upper": now["precision"][2],
                        "good_tokens_removed": now["good"][0],
                        "good_tokens_lower": now["good"][1],
                        "good_tokens_upper": now["good"][2],
                        "suggested": "off" if best is None else _fmt(best),
                        "suggested_fails": 0 if best_j is None else best_j["fails"],
                        "suggested_precision": None if best_j is None else best_j["precision"][0],
                        "suggested_precision_lower": None if best_j is None else best_j["precision"][1],
                        "suggested_good_tokens_removed": None if best_j is None else best_j["good"][0],
                        "note": note,
                    }
                )
    return pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)


def night_frame(scored: pl.LazyFrame, recipe: Recipe) -> pl.DataFrame:
    """Every document of the night with its signals and ``n_tokens`` (counted, streaming, when
    the night has no such column), without its text: what ``suggestion_table`` judges."""
    names = scored.collect_schema().names()
    signals = [c for c, t in signal_schema(recipe.filters).items() if c in names and t != pl.String()]
    tokens = pl.col("n_tokens") if "n_tokens" in names else n_tokens_expr("text")
    return scored.select("doc_id", "lang_detected", *signals, tokens.cast(pl.Float64).alias("n_tokens")).collect(
        engine="streaming"
    )


SHOWN = ["rule", "language", "current", "fails", "precision", "good_tokens_removed", "suggested", "note"]


def suggestion_markdown(table: pl.DataFrame) -> pl.DataFrame:
    """The table as people read it: precision with its interval, good tokens with theirs, rounded."""
    if table.height == 0:
        return pl.DataFrame({c: [] for c in SHOWN}, schema={c: pl.String for c in SHOWN})

    def span(est: str, lo: str, hi: str, digits: int, pct: bool) -> pl.Expr:
        def f(c: str) -> pl.Expr:
            v = pl.col(c) * 100 if pct else pl.col(c)
            return v.round(digits).cast(pl.String)

        unit = "%" if pct else ""
        return (
            pl.when(pl.col(est).is_null())
            .then(pl.lit("-"))
            .otherwise(pl.format("{}{} ({}-{})", f(est), pl.lit(unit), f(lo), f(hi)))
        )

    return table.sort(["language", "family", "rule"]).select(
        "rule",
        "language",
        pl.col("current").round(4).cast(pl.String),
        pl.format("{} ({} labels)", "fails", "labels").alias("fails"),
        span("precision", "precision_lower", "precision_upper", 0, True).alias("precision"),
        span("good_tokens_removed", "good_tokens_lower", "good_tokens_upper", 0, False).alias("good_tokens_removed"),
        pl.format(
            "{} ({} fail, {}%)",
            "suggested",
            pl.col("suggested_fails"),
            (pl.col("suggested_precision") * 100).round(0).cast(pl.String).fill_null("-"),
        ).alias("suggested"),
        "note",
    )


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _note(current: float, best: float | None, now: dict, f: FiltersConfig) -> str:
    if best is None:
        return (
            f"no value's drops reach {f.target_drop_precision:.0%} precision (lower bound) "
            f"with {f.suggestion_min_labels}+ labels"
        )
    if best == current:
        return "keep: the current value is the one suggested"
    return "move to the suggested value"
