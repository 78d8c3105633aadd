"""Choose the documents humans will label tonight.

The design (docs/annotate.md has the worked rules):

* **Populations.** Kept documents (``status == "kept"``) and rejected documents
  (``status == "rejected"``) are sampled separately: kept at ``sampling.fraction``,
  rejected at ``sampling.rejected_fraction`` (the "rejected slice", used to measure
  false drops). Their strata never mix.
* **Strata.** ``<population>:<source>:<language>:<score bucket>``. The language is
  ``lang_detected``, else the input's ``lang``, else ``"und"``; the buckets are the
  recipe's ``sampling.score_buckets`` cut points (``[0.25, 0.5, 0.75]`` gives
  ``q0.00-0.25`` ... ``q0.75-1.00``; a score equal to a cut point goes up).
* **Exact fraction per stratum.** A stratum of ``N`` documents gets
  ``n = max(1, floor(f * N + 0.5))`` documents (round half up, at least one per
  non-empty stratum, never more than ``N``): the ``n`` documents with the smallest
  ``u = xxh64(seed:doc_id) / 2**64``. Every document of the stratum has the same
  inclusion probability ``n / N`` (simple random sampling without replacement, the
  hash being the random permutation), and the choice is a pure function of the
  night's documents and the recipe, so a rerun picks the same documents.
* **Budget cap.** ``sampling.nightly_budget`` bounds the rows sent in one night. The
  active-learning rows take ``active = floor(share * total + 0.5)`` of the total,
  where ``total = min(budget, ceil(design / (1 - share)))``; the design (random +
  rejected) sample keeps the rest. If the design sample is larger than its part of
  the budget, its per-stratum sizes are scaled down together by largest-remainder
  allocation (ties broken by stratum name), each stratum still taking its smallest
  hashes, and ``inclusion_prob`` becomes the scaled ``n' / N``, so weights stay
  exact. A stratum can lose its last document only when there are more strata than
  budget; ``budget_bound`` flags the rows of a capped night.
* **Active rows.** The most uncertain documents not already in the design sample
  (smallest ``|quality_score - 0.5|``, ties by hash), ``sample_kind = "active"``.
  They are not a probability sample: they carry ``inclusion_prob = 1`` (each stands
  only for itself) and must be left out of design-based estimates (filter on
  ``sample_kind``); they exist to teach the quality model.
* **Overlap.** ``floor(overlap_fraction * n_sent + 0.5)`` rows (smallest
  ``xxh64(seed+1:doc_id)``) get ``overlap = True``: two annotators label them, which
  is where agreement is measured.

* **A night's design is drawn once.** The strata use the score bucket, so a rerun
  after a new model would move documents between strata and draw another sample: more
  work for the annotators on an old night, and labels whose strata no longer match. So
  the sample carries a ``design_key`` (the night's ``doc_id`` set, the seed and the
  sampling config); a rerun whose key matches the stored sample keeps its rows and
  design columns (strata, inclusion probabilities, kinds, overlap) and only refreshes
  the per-document columns (text, current score, status). This is still an exact
  probability sample of the night: the stratification is the one used to draw it, and
  the curated set is a domain of it. A changed population or config draws anew.

Never sending a document twice is the push's job (a persisted ledger, see
``winnow.annotation.ledger``): selection must stay a pure function so a rerun of
the same night re-selects exactly the same rows.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import polars as pl

from schemas.recipe import Recipe, SamplingConfig
from winnow.ids import hash_seed_fraction

#: Columns the sample carries from ``scored_documents`` when they exist.
PASS_THROUGH = [
    "source",
    "url",
    "status",
    "quality_score",
    "score_source",
    "drop_reason",
    "drop_family",
    "lang_score",
    "n_chars",
    "n_words",
]

SAMPLE_KINDS = ("random", "rejected", "active")

#: Columns fixed when a night's sample is drawn; a rerun with the same design keeps them.
DESIGN_COLUMNS = [
    "doc_id",
    "stratum",
    "population",
    "sample_lang",
    "score_bucket",
    "stratum_size",
    "stratum_sample_size",
    "inclusion_prob",
    "sample_kind",
    "overlap",
    "budget_bound",
    "sample_rank",
    "design_key",
]


def bucket_labels(cuts: list[float]) -> list[str]:
    edges = [0.0, *cuts, 1.0]
    return [f"q{lo:.2f}-{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:])]


def score_bucket(score: pl.Expr, cuts: list[float]) -> pl.Expr:
    """The bucket label of a score in [0, 1]; a value equal to a cut point goes up."""
    labels = bucket_labels(cuts)
    expr = pl.lit(labels[0])
    for cut, label in zip(cuts, labels[1:]):
        expr = pl.when(score >= cut).then(pl.lit(label)).otherwise(expr)
    return pl.when(score.is_null()).then(pl.lit("q-none")).otherwise(expr)


def stratum_sizes(n_pop: int, fraction: float) -> int:
    """Sample size of a stratum of ``n_pop`` documents: round half up, at least one."""
    if n_pop <= 0 or fraction <= 0:
        return 0
    return min(n_pop, max(1, math.floor(fraction * n_pop + 0.5)))


def largest_remainder(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Scale integer ``sizes`` down to sum to ``total`` (Hamilton's method, ties by key)."""
    current = sum(sizes.values())
    if current <= total:
        return dict(sizes)
    quotas = {k: v * total / current for k, v in sizes.items()}
    out = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(out.values())
    order = sorted(quotas, key=lambda k: (-(quotas[k] - out[k]), k))
    for k in order[:left]:
        out[k] += 1
    return out


@dataclass(frozen=True)
class Plan:
    """Per-stratum sizes for one night (small: one row per stratum)."""

    strata: pl.DataFrame  # stratum, population, N, n_design, n_final, inclusion_prob
    n_design: int
    n_active: int
    budget_bound: bool


def _keys(scored: pl.LazyFrame, cfg: SamplingConfig, seed: int) -> pl.LazyFrame:
    names = scored.collect_schema().names()
    lang = pl.coalesce(
        *[pl.col(c).cast(pl.String) for c in ("lang_detected", "lang") if c in names],
        pl.lit("und"),
    )
    status = pl.col("status") if "status" in names else pl.lit("kept")
    population = pl.when(status == "rejected").then(pl.lit("rejected")).otherwise(pl.lit("kept"))
    bucket = score_bucket(pl.col("quality_score").cast(pl.Float64), cfg.score_buckets)
    return scored.select(
        "doc_id",
        population.alias("population"),
        pl.col("quality_score").cast(pl.Float64),
        pl.concat_str([population, pl.col("source").fill_null("unknown"), lang, bucket], separator=":").alias(
            "stratum"
        ),
        lang.alias("sample_lang"),
        bucket.alias("score_bucket"),
        hash_seed_fraction(pl.col("doc_id"), seed).alias("_u"),
    )


def plan_sample(keys: pl.DataFrame, cfg: SamplingConfig) -> Plan:
    """Per-stratum sample sizes, the active count and the budget scaling."""
    strata = keys.group_by("stratum", "population").agg(N=pl.len()).sort("stratum")
    frac = {"kept": cfg.fraction, "rejected": cfg.rejected_fraction}
    n_design = [stratum_sizes(n, frac[p]) for n, p in zip(strata["N"], strata["population"])]
    strata = strata.with_columns(n_design=pl.Series(n_design, dtype=pl.Int64))
    design_total = int(strata["n_design"].sum() or 0)
    share = cfg.active_learning_share
    wanted_total = math.ceil(design_total / (1 - share)) if design_total else 0
    total = min(cfg.nightly_budget, wanted_total)
    n_active = min(math.floor(share * total + 0.5), max(0, keys.height - design_total))
    design_budget = total - n_active
    final = largest_remainder(dict(zip(strata["stratum"], strata["n_design"])), design_budget)
    strata = strata.with_columns(n_final=pl.col("stratum").replace_strict(final, return_dtype=pl.Int64)).with_columns(
        inclusion_prob=pl.col("n_final") / pl.col("N")
    )
    return Plan(
        strata=strata,
        n_design=int(strata["n_final"].sum() or 0),
        n_active=int(n_active),
        budget_bound=design_total > design_budget,
    )


def design_key(doc_ids: pl.Series, cfg: SamplingConfig, seed: int) -> str:
    """What a night's draw depends on besides the scores: its doc_id set, the seed and the config."""
    h = hashlib.sha256(f"{seed}\n{cfg.model_dump_json()}\n".encode())
    h.update("\n".join(doc_ids.sort().to_list()).encode())
    return h.hexdigest()[:16]


def kept_design(previous: pl.DataFrame | None, key: str) -> pl.DataFrame | None:
    """The stored sample's design columns if it was drawn with this ``design_key``, else None."""
    if previous is None or previous.height == 0 or "design_key" not in previous.columns:
        return None
    if previous["design_key"].unique().to_list() != [key]:
        return None
    return previous.select(DESIGN_COLUMNS)


def select_sample(scored: pl.LazyFrame, recipe: Recipe, previous: pl.DataFrame | None = None) -> pl.LazyFrame:
    """The night's annotation sample (see the module docstring for the rules).

    ``previous`` is the night's stored sample, if any: when its ``design_key`` matches,
    its rows and design columns are kept (the design is drawn once per night).

    Columns: ``doc_id``, ``partition``, ``text`` (the PII-redacted text, the only text
    an annotator sees), ``stratum``, ``population``, ``sample_lang``, ``score_bucket``,
    ``stratum_size``, ``stratum_sample_size``, ``inclusion_prob``, ``sample_kind``,
    ``overlap``, ``budget_bound``, ``sample_rank``, ``design_key`` and the
    ``PASS_THROUGH`` columns present in the input.
    """
    cfg = recipe.sampling
    # Only the small key columns are collected; the text is joined back for chosen rows.
    keys = _keys(scored, cfg, recipe.seed).collect()
    key = design_key(keys["doc_id"], cfg, recipe.seed)
    chosen = kept_design(previous, key)
    if chosen is None:
        chosen = _draw(keys, cfg, recipe.seed).with_columns(design_key=pl.lit(key))
    names = scored.collect_schema().names()
    text = pl.col("text_redacted") if "text_redacted" in names else pl.col("text")
    carried = [c for c in PASS_THROUGH if c in names and c != "quality_score"]
    extra = [pl.col("partition")] if "partition" in names else [pl.lit(None, dtype=pl.String).alias("partition")]
    docs = scored.select("doc_id", *extra, text.alias("text"), pl.col("quality_score").cast(pl.Float64), *carried)
    return chosen.lazy().join(docs, on="doc_id", how="left").sort("sample_kind", "stratum", "sample_rank")


def _draw(keys: pl.DataFrame, cfg: SamplingConfig, seed: int) -> pl.DataFrame:
    """Draw the design and active rows from the night's key columns (the rules above)."""
    plan = plan_sample(keys, cfg)
    ranked = keys.with_columns(_rank=pl.col("_u").rank("ordinal").over("stratum").cast(pl.Int64)).join(
        plan.strata.select("stratum", "N", "n_final", "inclusion_prob"), on="stratum", how="left"
    )
    design = ranked.filter(pl.col("_rank") <= pl.col("n_final")).with_columns(
        sample_kind=pl.when(pl.col("population") == "rejected").then(pl.lit("rejected")).otherwise(pl.lit("random"))
    )
    active = (
        ranked.filter(pl.col("_rank") > pl.col("n_final"))
        .with_columns(_unc=(pl.col("quality_score").fill_null(0.5) - 0.5).abs())
        .sort("_unc", "_u")
        .head(plan.n_active)
        .drop("_unc")
        .with_columns(sample_kind=pl.lit("active"), inclusion_prob=pl.lit(1.0))
    )
    chosen = pl.concat([design, active], how="vertical_relaxed")
    n_overlap = math.floor(cfg.overlap_fraction * chosen.height + 0.5)
    u2 = hash_seed_fraction(pl.col("doc_id"), seed + 1)
    return (
        chosen.with_columns(_u2=u2)
        .with_columns(overlap=pl.col("_u2").rank("ordinal") <= n_overlap)
        .select(
            "doc_id",
            "stratum",
            "population",
            "sample_lang",
            "score_bucket",
            pl.col("N").alias("stratum_size"),
            pl.col("n_final").alias("stratum_sample_size"),
            pl.col("inclusion_prob").cast(pl.Float64),
            "sample_kind",
            "overlap",
            pl.lit(plan.budget_bound).alias("budget_bound"),
            pl.col("_u").alias("sample_rank"),
        )
    )


def sample_summary(sample: pl.DataFrame) -> pl.DataFrame:
    """Rows per stratum and kind with the stratum size and inclusion probability."""
    return (
        sample.group_by("sample_kind", "stratum")
        .agg(
            rows=pl.len(),
            N=pl.col("stratum_size").first(),
            inclusion_prob=pl.col("inclusion_prob").first(),
            overlap=pl.col("overlap").sum(),
        )
        .sort("sample_kind", "stratum")
    )


def design_status(previous: pl.DataFrame | None, sample: pl.DataFrame) -> str:
    """How tonight's sample came about: drawn, kept from the night's first draw, or drawn anew."""
    if previous is None or previous.height == 0:
        return "drawn"
    if sample.height and kept_design(previous, sample["design_key"][0]) is not None:
        return "kept from the night's first draw (same documents and sampling config)"
    return "drawn anew: the night's documents or the sampling config changed"
