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
  the budget, every stratum first keeps one document and the rest of the budget is
  shared out in proportion to the strata's remaining sizes by largest-remainder
  allocation (ties broken by stratum name); each stratum still takes its smallest
  hashes, and ``inclusion_prob`` becomes the scaled ``n' / N``, so weights stay exact.
  ``budget_bound`` flags the rows of a capped night.
* **Collapse, never drop.** When there are more strata than the design budget, no
  allocation can give each one a document, so strata are merged until they fit, by a
  fixed sequence of levels (``COLLAPSE_LEVELS``): neighbouring score buckets in pairs,
  then pairs of pairs, up to one bucket per population, source and language; then the
  languages of a source; then the sources; then the two populations. The first level
  with no more strata than the budget is drawn, so every document keeps a positive
  inclusion probability, ``n'/N`` of its merged stratum, and the estimates stay exact.
  ``stratum_rule`` names the level; a merged part of the key reads ``*`` (language,
  source) or a wider bucket (``q0.00-0.50``).
* **Active rows.** The most uncertain documents not already in the design sample
  (smallest ``|quality_score - 0.5|``, ties by hash), ``sample_kind = "active"``.
  They are not a probability sample: they carry ``inclusion_prob = 1`` (each stands
  only for itself) and must be left out of design-based estimates (filter on
  ``sample_kind``); they exist to teach the quality model.
* **Overlap.** ``floor(overlap_fraction * n_sent + 0.5)`` rows (smallest
  ``xxh64(seed+1:doc_id)``) get ``overlap = True``: two annotators label them, which
  is where agreement is measured.
* **Push order.** Rows are sent in the order of ``push_rank = xxh64(seed+2:doc_id)``,
  not by stratum: annotators work in import order, so whatever has been labelled when
  the estimates run is a random subsample of every stratum (labels missing completely
  at random within a stratum), which is what the estimator assumes.
* **Held-out labels.** ``holdout`` (``xxh64(seed+3:doc_id) < estimates.holdout_share``)
  marks the random-sample documents whose labels never train or calibrate the quality
  model; they alone measure the model-dependent populations (curated, model false
  drops), which are made of filter-kept documents, so the rejected slice needs none.

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
from winnow.annotation.redact import redact_shown_fields
from winnow.ids import OVERLAP_STREAM, hash_seed_fraction, is_holdout, push_rank

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
    "stratum_rule",
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


def allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Fit per-stratum ``sizes`` into ``total``: one each first, the rest by largest remainder.

    Only called with at least as many places as strata (the collapse sees to it), so no
    stratum is left without a document.
    """
    if sum(sizes.values()) <= total:
        return dict(sizes)
    if total < len(sizes):
        return largest_remainder(sizes, total)  # only when even one stratum per population is too many
    rest = largest_remainder({k: v - 1 for k, v in sizes.items()}, total - len(sizes))
    return {k: rest[k] + 1 for k in sizes}


#: The collapse levels, finest first: (bucket merge steps, merge languages, merge sources, merge populations).
#: A bucket step of j merges 2**j neighbouring score buckets; None merges all of them (and "q-none").
COLLAPSE_LEVELS: list[tuple[int | None, bool, bool, bool]] = [
    *[(j, False, False, False) for j in range(0, 6)],
    (None, False, False, False),
    (None, True, False, False),
    (None, True, True, False),
    (None, True, True, True),
]


def level_name(level: tuple[int | None, bool, bool, bool]) -> str:
    buckets, langs, sources, pops = level
    if level == COLLAPSE_LEVELS[0]:
        return "full strata"
    parts = ["score buckets merged" if buckets is None else f"score buckets merged by {2**buckets}"]
    parts += [name for flag, name in ((langs, "languages"), (sources, "sources"), (pops, "populations")) if flag]
    return "collapsed: " + ", ".join(parts) + " (strata outnumbered the budget)"


def stratum_expr(level: tuple[int | None, bool, bool, bool], cuts: list[float]) -> pl.Expr:
    """The stratum key at a collapse level, from the key columns ``_keys`` makes."""
    buckets, langs, sources, pops = level
    edges = [0.0, *cuts, 1.0]
    if buckets is None:
        bucket = pl.lit("q0.00-1.00")
    else:
        step = 2**buckets
        group = pl.col("_bidx") // step
        n_groups = math.ceil((len(edges) - 1) / step)
        expr = pl.lit("q-none")
        for g in range(n_groups):
            lo, hi = edges[g * step], edges[min((g + 1) * step, len(edges) - 1)]
            expr = pl.when(group == g).then(pl.lit(f"q{lo:.2f}-{hi:.2f}")).otherwise(expr)
        bucket = pl.when(pl.col("_bidx") < 0).then(pl.lit("q-none")).otherwise(expr)
    return pl.concat_str(
        [
            pl.lit("all") if pops else pl.col("population"),
            pl.lit("*") if sources else pl.col("_source"),
            pl.lit("*") if langs else pl.col("sample_lang"),
            bucket,
        ],
        separator=":",
    )


@dataclass(frozen=True)
class Plan:
    """Per-stratum sizes for one night (small: one row per stratum)."""

    strata: pl.DataFrame  # stratum, population, N, n_design, n_final, inclusion_prob
    keys: pl.DataFrame  # the key columns with the stratum of the level drawn
    n_design: int
    n_active: int
    budget_bound: bool
    rule: str


def _keys(scored: pl.LazyFrame, cfg: SamplingConfig, seed: int) -> pl.LazyFrame:
    names = scored.collect_schema().names()
    lang = pl.coalesce(
        *[pl.col(c).cast(pl.String) for c in ("lang_detected", "lang") if c in names],
        pl.lit("und"),
    )
    status = pl.col("status") if "status" in names else pl.lit("kept")
    population = pl.when(status == "rejected").then(pl.lit("rejected")).otherwise(pl.lit("kept"))
    score = pl.col("quality_score").cast(pl.Float64)
    bidx = pl.lit(0, dtype=pl.Int64)
    for i, cut in enumerate(cfg.score_buckets, start=1):
        bidx = pl.when(score >= cut).then(pl.lit(i, dtype=pl.Int64)).otherwise(bidx)
    return scored.select(
        "doc_id",
        population.alias("population"),
        score.alias("quality_score"),
        pl.col("source").fill_null("unknown").alias("_source"),
        lang.alias("sample_lang"),
        score_bucket(score, cfg.score_buckets).alias("score_bucket"),
        pl.when(score.is_null()).then(pl.lit(-1, dtype=pl.Int64)).otherwise(bidx).alias("_bidx"),
        hash_seed_fraction(pl.col("doc_id"), seed).alias("_u"),
    )


def plan_sample(keys: pl.DataFrame, cfg: SamplingConfig) -> Plan:
    """Per-stratum sample sizes, the active count, the budget scaling and the collapse level."""
    frac = {"kept": cfg.fraction, "rejected": cfg.rejected_fraction, "all": cfg.fraction}
    share = cfg.active_learning_share
    for level in COLLAPSE_LEVELS:
        leveled = keys.with_columns(stratum=stratum_expr(level, cfg.score_buckets))
        pop = pl.col("stratum").str.split(":").list.first()
        strata = leveled.group_by("stratum").agg(N=pl.len()).with_columns(population=pop).sort("stratum")
        n_design = [stratum_sizes(n, frac[p]) for n, p in zip(strata["N"], strata["population"])]
        strata = strata.with_columns(n_design=pl.Series(n_design, dtype=pl.Int64))
        design_total = int(strata["n_design"].sum() or 0)
        wanted_total = math.ceil(design_total / (1 - share)) if design_total else 0
        total = min(cfg.nightly_budget, wanted_total)
        n_active = min(math.floor(share * total + 0.5), max(0, keys.height - design_total))
        design_budget = total - n_active
        if int((strata["n_design"] > 0).sum()) <= design_budget or level == COLLAPSE_LEVELS[-1]:
            break
    sampled = {k: v for k, v in zip(strata["stratum"], strata["n_design"]) if v > 0}
    final = allocate(sampled, design_budget)
    strata = strata.with_columns(
        n_final=pl.col("stratum").replace_strict(final, default=0, return_dtype=pl.Int64)
    ).with_columns(inclusion_prob=pl.col("n_final") / pl.col("N"))
    return Plan(
        strata=strata,
        keys=leveled,
        n_design=int(strata["n_final"].sum() or 0),
        n_active=int(n_active),
        budget_bound=design_total > design_budget,
        rule=level_name(level),
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
    an annotator sees, cut at ``annotation.max_task_chars``), ``text_truncated``, ``stratum``, ``population``, ``sample_lang``, ``score_bucket``,
    ``stratum_size``, ``stratum_sample_size``, ``inclusion_prob``, ``sample_kind``,
    ``overlap``, ``budget_bound``, ``stratum_rule``, ``sample_rank``, ``design_key``,
    ``push_rank`` (rows come sorted by it), ``holdout``, ``task_doc_id`` (the id a task
    shows, PII-free) and the ``PASS_THROUGH`` columns present in the input (``url``
    redacted as a task shows it; ``winnow.annotation.redact``).
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
    cap = recipe.annotation.max_task_chars
    long = text.str.len_chars() > cap
    note = f"\n\n[cut for annotation at {cap:,} characters: the document is longer]"
    shown = pl.when(long).then(text.str.slice(0, cap) + pl.lit(note)).otherwise(text)
    docs = scored.select(
        "doc_id", *extra, shown.alias("text"), long.alias("text_truncated"), pl.col("quality_score").cast(pl.Float64),
        *carried,
    )  # fmt: skip
    random = pl.col("sample_kind") == "random"  # the rejected slice is never in a model-decided population
    return (
        chosen.lazy()
        .join(docs, on="doc_id", how="left")
        .with_columns(
            push_rank=push_rank(pl.col("doc_id"), recipe.seed),
            holdout=random & is_holdout(pl.col("doc_id"), recipe.seed, recipe.estimates.holdout_share),
        )
        .sort("push_rank")
        .pipe(redact_shown_fields)
    )


def _draw(keys: pl.DataFrame, cfg: SamplingConfig, seed: int) -> pl.DataFrame:
    """Draw the design and active rows from the night's key columns (the rules above)."""
    plan = plan_sample(keys, cfg)
    ranked = plan.keys.with_columns(_rank=pl.col("_u").rank("ordinal").over("stratum").cast(pl.Int64)).join(
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
    u2 = hash_seed_fraction(pl.col("doc_id"), seed + OVERLAP_STREAM)
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
            pl.lit(plan.rule).alias("stratum_rule"),
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
