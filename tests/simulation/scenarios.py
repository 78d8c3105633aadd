"""Simulated nights with a known truth, drawn by the real sampler and measured by the real estimator.

A scenario is a finite population of one night (strata, true good/bad, token counts,
populations) and the conditions production creates: partial labelling in push order,
strata nobody has labelled yet, a budget cap, heavy-tailed lengths, noisy annotators,
a model trained on the labels. Each repetition draws the night's sample with the
sampler's own plan (``winnow.annotation.sampling.plan_sample``: allocation, budget
cap, collapse), a fresh random permutation standing in for the seeded hash, labels a
prefix of the push order, and estimates with ``winnow.model.estimates``.

``tests/simulation/test_coverage.py`` asserts each scenario's coverage;
``python -m scripts.coverage_table`` writes the table the docs include.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from schemas.recipe import SamplingConfig
from winnow.annotation.sampling import plan_sample
from winnow.model.annotator_error import corrected_share, fit_annotator_errors
from winnow.model.calibrate import calibrate_threshold
from winnow.model.estimates import ratio_estimate


@dataclass
class Population:
    """One night: per document its stratum key parts, truth, tokens and memberships."""

    population: np.ndarray  # "kept" / "rejected"
    source: np.ndarray
    lang: np.ndarray
    bucket: np.ndarray  # score bucket index
    good: np.ndarray  # 1.0 good, 0.0 bad
    tokens: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.good.size


def strata_population(
    rng: np.random.Generator,
    sizes,
    rates,
    *,
    sigma: float = 1.0,
    bad_longer: float = 0.0,
    rejected: np.ndarray | None = None,
) -> Population:
    """Strata of given sizes and good rates; log-normal token counts, bad ones ``1 + bad_longer`` times longer."""
    sizes = np.asarray(sizes)
    st = np.repeat(np.arange(sizes.size), sizes)
    good = (rng.random(st.size) < np.repeat(rates, sizes)).astype(float)
    tokens = np.ceil(rng.lognormal(6, sigma, st.size) * (1 + bad_longer * (1 - good)))
    rej = np.zeros(sizes.size, bool) if rejected is None else np.asarray(rejected)
    return Population(
        population=np.where(rej[st], "rejected", "kept"),
        source=np.array([f"s{h % 7}" for h in range(sizes.size)])[st],
        lang=np.array([f"l{h}" for h in range(sizes.size)])[st],
        bucket=np.zeros(st.size, np.int64),
        good=good,
        tokens=tokens,
    )


def plan(pop: Population, cfg: SamplingConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """The sampler's plan: per document its stratum code, the stratum's size and its sample size."""
    keys = pl.DataFrame(
        {
            "doc_id": np.arange(pop.size).astype(str),
            "population": pop.population,
            "_source": pop.source,
            "sample_lang": pop.lang,
            "_bidx": pop.bucket,
        }
    )
    p = plan_sample(keys, cfg)
    codes = p.strata.with_row_index("code")
    per_doc = p.keys.join(codes.select("stratum", "code", "N", "n_final"), on="stratum", how="left").sort(
        pl.col("doc_id").cast(pl.Int64)
    )
    return (
        per_doc["code"].to_numpy().astype(np.int64),
        per_doc["N"].to_numpy().astype(np.float64),
        per_doc["n_final"].to_numpy().astype(np.int64),
        p.rule,
    )


class Drawer:
    """Stratified simple random samples: ``n_final`` documents of each stratum, without replacement."""

    def __init__(self, code: np.ndarray, n_final: np.ndarray):
        order = np.argsort(code, kind="stable")
        bounds = np.flatnonzero(np.diff(code[order])) + 1
        self.groups = [g for g in np.split(order, bounds) if g.size]
        self.sizes = [int(n_final[g[0]]) for g in self.groups]

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate(
            [g[rng.choice(g.size, n, replace=False)] for g, n in zip(self.groups, self.sizes) if n > 0]
        )


def labelled_prefix(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Which of ``n`` pushed tasks are labelled when annotators have done ``share`` of them, in push order."""
    done = np.zeros(n, bool)
    done[rng.permutation(n)[: math.floor(share * n + 0.5)]] = True
    return done


@dataclass
class Result:
    name: str
    coverage: float
    width: float
    bias: float
    reps: int
    labels: float
    outside: int = 0
    zero_width: int = 0
    note: str = ""

    def row(self) -> dict:
        return {
            "scenario": self.name,
            "coverage": round(self.coverage, 3),
            "mean width": round(self.width, 3),
            "bias": round(self.bias, 4),
            "labels per night": round(self.labels, 1),
            "nights": self.reps,
        }


class Tally:
    """Coverage, width, bias and the sanity counts over repetitions."""

    def __init__(self, name: str):
        self.name, self.hits, self.widths, self.bias, self.labels = name, 0, [], [], []
        self.outside = self.zero = 0

    def add(self, truth: float, lower: float, upper: float, estimate: float | None, labels: int, strata: int):
        self.hits += lower <= truth <= upper
        self.widths.append(upper - lower)
        if estimate is not None:
            self.bias.append(estimate - truth)
        self.labels.append(labels)
        self.outside += lower < 0 or upper > 1
        self.zero += (upper - lower) < 1e-9 and strata > 1

    def result(self, note: str = "") -> Result:
        n = len(self.widths)
        return Result(
            self.name,
            self.hits / n,
            float(np.mean(self.widths)),
            float(np.mean(self.bias)) if self.bias else float("nan"),
            n,
            float(np.mean(self.labels)),
            self.outside,
            self.zero,
            note,
        )


def run_design(
    name: str,
    pop: Population,
    cfg: SamplingConfig,
    *,
    seed: int,
    reps: int,
    metric: str = "docs",
    domain: np.ndarray | None = None,
    label_share: float = 1.0,
    never_labelled: np.ndarray | None = None,
    flip: float = 0.0,
) -> Result:
    """Coverage of one population share over ``reps`` nights (see the module doc)."""
    rng = np.random.default_rng(seed)
    code, big_n, n_final, rule = plan(pop, cfg)
    d_all = np.ones(pop.size) if domain is None else domain.astype(float)
    x_all = pop.tokens if metric == "tokens" else np.ones(pop.size)
    truth = float((pop.good * x_all * d_all).sum() / (x_all * d_all).sum())
    tally = Tally(name)
    draw = Drawer(code, n_final)
    for _ in range(reps):
        sel = draw(rng)
        y = pop.good[sel].copy()
        if flip:
            y = np.where(rng.random(y.size) < flip, 1 - y, y)
        done = labelled_prefix(rng, sel.size, label_share)
        if never_labelled is not None:
            done &= ~never_labelled[sel]
        y[~done] = np.nan
        e = ratio_estimate(y, x_all[sel], d_all[sel], code[sel], big_n[sel])
        tally.add(truth, e.lower, e.upper, e.estimate, int(done.sum()), len(set(code[sel].tolist())))
    return tally.result(rule)


# ----------------------------------------------------------------------------- noisy annotators
def run_noisy(name: str, *, seed: int, reps: int, n: int = 400, error=(0.05, 0.1, 0.1, 0.15), overlap=0.3) -> Result:
    """Annotators who flip labels: the Dawid-Skene-corrected share against the true share.

    One stratum of 20,000 documents, ``n`` labelled; ``overlap`` of them by two different
    annotators of ``len(error)``, each flipping with their own probability.
    """
    rng = np.random.default_rng(seed)
    big = 20_000
    good_all = (rng.random(big) < 0.6).astype(float)
    truth = float(good_all.mean())
    err = np.asarray(error)
    tally = Tally(name)
    raw_hits = 0
    for _ in range(reps):
        sel = rng.choice(big, n, replace=False)
        good = good_all[sel]
        two = rng.random(n) < overlap
        first = rng.integers(0, err.size, n)
        second = (first + rng.integers(1, err.size, n)) % err.size
        item = np.r_[np.arange(n), np.flatnonzero(two)]
        who = np.r_[first, second[two]]
        vote = np.where(rng.random(item.size) < err[who], 1 - good[item], good[item])
        votes = pl.DataFrame({"doc_id": item.astype(str), "annotator": who.astype(str), "keep": vote > 0.5})
        y = np.bincount(item, weights=vote, minlength=n) / np.bincount(item, minlength=n)
        raw = ratio_estimate(y, np.ones(n), np.ones(n), np.zeros(n, np.int64), np.full(n, float(big)))
        q_se = (raw.upper - raw.lower) / (2 * 1.959964)
        raw_hits += raw.lower <= truth <= raw.upper
        errors = fit_annotator_errors(votes, seed=int(rng.integers(1 << 30)))
        assert errors is not None
        out = corrected_share(raw.estimate, q_se, errors)
        assert out is not None
        tally.add(truth, out[1], out[2], out[0], n, 1)
    return tally.result(f"raw-label interval covers the true share {raw_hits / reps:.3f}")


# ----------------------------------------------------------------------------- a model trained on the labels
def run_trained_model(name: str, *, seed: int, reps: int, holdout: float = 0.5) -> tuple[Result, Result]:
    """The model is fitted and its threshold calibrated on the non-held-out labels of each night.

    Documents have a noisy quality signal; the "model" is a logistic fit of the labels on
    it, its threshold chosen by the real calibration (target precision 0.9). The curated
    share (kept and over the threshold) and the model's false-drop rate (kept, under it)
    are then estimated from the held-out labels only, as ``measuring_units`` does.
    """
    rng = np.random.default_rng(seed)
    sizes = np.array([6000, 4000, 3000, 2000])
    pop = strata_population(rng, sizes, [0.92, 0.85, 0.7, 0.5])
    signal = pop.good * 1.5 + rng.normal(0, 1.0, pop.size)
    cfg = SamplingConfig(fraction=0.03, rejected_fraction=0.0, nightly_budget=100_000, active_learning_share=0.0)
    code, big_n, n_final, _ = plan(pop, cfg)
    cur, drop = Tally(name + ": curated share"), Tally(name + ": model false-drop rate")
    draw = Drawer(code, n_final)
    for _ in range(reps):
        sel = draw(rng)
        held = rng.random(sel.size) < holdout
        train = ~held
        s_tr, y_tr = signal[sel][train], pop.good[sel][train]
        a, b = _logistic(s_tr, y_tr)
        score_all = 1 / (1 + np.exp(-(a + b * signal)))
        cal = calibrate_threshold(score_all[sel][train], y_tr, target_precision=0.9, confidence=0.9)
        t = cal.threshold if cal.threshold is not None else 1.0
        for tally, member in ((cur, score_all >= t), (drop, score_all < t)):
            truth = float(pop.good[member].mean()) if member.any() else 0.0
            y = np.where(held, pop.good[sel], np.nan)
            d = member[sel].astype(float)
            # strata without a held-out document keep their sampled ones, unlabelled (bounded)
            e = ratio_estimate(y, np.ones(sel.size), d, code[sel], big_n[sel])
            if e.estimate is None and e.lower is None:
                continue
            tally.add(truth, e.lower, e.upper, e.estimate, int(held.sum()), 4)
    return cur.result(), drop.result()


def _logistic(s: np.ndarray, y: np.ndarray, iterations: int = 25) -> tuple[float, float]:
    """Newton's method for a one-feature logistic regression (with a tiny ridge)."""
    X = np.c_[np.ones_like(s), s]
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-X @ beta))
        grad = X.T @ (y - p) - 1e-3 * beta
        hess = (X * (p * (1 - p))[:, None]).T @ X + 1e-3 * np.eye(2)
        beta += np.linalg.solve(hess, grad)
    return float(beta[0]), float(beta[1])


# ----------------------------------------------------------------------------- the scenarios
def _cfg(fraction=0.02, rejected=0.01, budget=100_000) -> SamplingConfig:
    return SamplingConfig(
        fraction=fraction, rejected_fraction=rejected, nightly_budget=budget, active_learning_share=0.0
    )


def _mixed(seed=100, n=16, lo=0.05, hi=0.97, size=(50, 4000), **kw) -> Population:
    rng = np.random.default_rng(seed)
    return strata_population(rng, rng.integers(*size, n), rng.uniform(lo, hi, n), **kw)


def _with_rejected(seed=400) -> Population:
    """10 kept strata (good 50-97%) and 6 rejected ones (good 2-30%)."""
    rng = np.random.default_rng(seed)
    sizes = np.r_[rng.integers(300, 4000, 10), rng.integers(300, 3000, 6)]
    rates = np.r_[rng.uniform(0.5, 0.97, 10), rng.uniform(0.02, 0.3, 6)]
    return strata_population(rng, sizes, rates, rejected=np.r_[np.zeros(10, bool), np.ones(6, bool)])


def _many_strata(seed=500) -> Population:
    """96 strata: 2 sources x 12 languages x 4 score buckets, quality rising with the bucket."""
    rng = np.random.default_rng(seed)
    parts = []
    for src in range(2):
        for lang in range(12):
            for b in range(4):
                n = int(rng.integers(100, 600)) if lang else 5000
                parts.append((src, lang, b, n, 0.2 + 0.2 * b + rng.uniform(-0.1, 0.1)))
    sizes = np.array([p[3] for p in parts])
    st = np.repeat(np.arange(len(parts)), sizes)
    good = (rng.random(st.size) < np.repeat([p[4] for p in parts], sizes)).astype(float)
    return Population(
        population=np.full(st.size, "kept"),
        source=np.array([f"s{p[0]}" for p in parts])[st],
        lang=np.array([f"l{p[1]}" for p in parts])[st],
        bucket=np.array([p[2] for p in parts])[st],
        good=good,
        tokens=np.ones(st.size),
    )


def _kept(pop: Population) -> np.ndarray:
    return pop.population == "kept"


def _worst_bare() -> tuple[Population, np.ndarray]:
    pop = _mixed(seed=101, lo=0.3)
    lang_ids = np.unique(pop.lang, return_inverse=True)[1]
    worst = np.isin(lang_ids, [3, 11])
    pop.good[worst] = 0.0  # the strata nobody labelled are entirely bad: the least favourable case
    return pop, worst


def _random_bare(seed=102) -> tuple[Population, np.ndarray]:
    pop = _mixed(seed=seed)
    lang_ids = np.unique(pop.lang, return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    return pop, np.isin(lang_ids, rng.choice(16, 5, replace=False))


def _rare_defects() -> Population:
    """4 heavy strata (20,000 documents, 3% bad) and 12 light ones (300, 10% bad), 0.2% sampled."""
    rng = np.random.default_rng(600)
    sizes = np.r_[np.full(4, 20_000), np.full(12, 300)]
    return strata_population(rng, sizes, np.r_[np.full(4, 0.97), np.full(12, 0.9)])


def _curated_like(seed=700) -> Population:
    """10 strata 85-99% good, heavy-tailed lengths, bad documents 1.5x longer."""
    rng = np.random.default_rng(seed)
    return strata_population(rng, rng.integers(200, 3000, 10), rng.uniform(0.85, 0.99, 10), bad_longer=0.5)


def _rule_drops(seed=800) -> tuple[Population, np.ndarray]:
    """A rule's drops in one language (winnow/threshold_suggestions.py): about half of the documents
    of 3 thin rejected strata of that language (60-400 documents, 5% sampled), where the rule's
    drops are worse than the rest; heavy-tailed lengths, bad documents longer. About 10 labels
    fall in the domain, so the token share's heavy-tail correction makes it conservative (~98%)."""
    rng = np.random.default_rng(seed)
    sizes = np.r_[rng.integers(300, 4000, 8), rng.integers(60, 400, 8)]
    rates = np.r_[rng.uniform(0.5, 0.97, 8), rng.uniform(0.1, 0.5, 8)]
    pop = strata_population(
        rng, sizes, rates, sigma=1.5, bad_longer=0.5, rejected=np.r_[np.zeros(8, bool), np.ones(8, bool)]
    )
    stratum = np.repeat(np.arange(sizes.size), sizes)
    fails = np.isin(stratum, [8, 11, 13]) & (rng.random(stratum.size) < 0.5)
    pop.good[fails] = (rng.random(int(fails.sum())) < 0.2).astype(float)
    return pop, fails


#: name -> (function returning results, slow). Each result's coverage must lie in [low, high].
SCENARIOS: dict[str, tuple[Callable[[int], list[Result]], bool, tuple[float, float]]] = {}


def scenario(name: str, slow: bool = False, window: tuple[float, float] = (0.93, 0.97)):
    def register(fn):
        SCENARIOS[name] = (fn, slow, window)
        return fn

    return register


NOMINAL = (0.93, 0.97)


@scenario("fully labelled, mixed quality, 2% sample")
def _s_mixed(reps):
    pop = _mixed()
    return [
        run_design("fully labelled, mixed, 2%: documents", pop, _cfg(), seed=1, reps=reps),
        run_design("fully labelled, mixed, 2%: tokens", pop, _cfg(), seed=2, reps=reps, metric="tokens"),
    ]


@scenario("thin strata: 10 of 20 strata get one label")
def _s_thin(reps):
    rng = np.random.default_rng(200)
    sizes = np.r_[rng.integers(40, 600, 10), rng.integers(5, 30, 10)]
    pop = strata_population(rng, sizes, rng.uniform(0.05, 0.97, 20))
    return [run_design("thin strata (singletons)", pop, _cfg(0.05), seed=3, reps=reps)]


@scenario("high quality near the boundary")
def _s_high(reps):
    pop = _mixed(seed=300, n=12, lo=0.85, hi=0.99, size=(100, 3000))
    return [run_design("high quality (85-99% good)", pop, _cfg(), seed=4, reps=reps)]


def _push_prefix(label: str, share: float, seeds: tuple[int, int], reps: int) -> list[Result]:
    """A night labelled up to ``share`` of its push order: the raw and the kept share."""
    pop = _with_rejected()
    return [
        run_design(f"{label} in push order: raw", pop, _cfg(), seed=seeds[0], reps=reps, label_share=share),
        run_design(
            f"{label} in push order: kept", pop, _cfg(), seed=seeds[1], reps=reps, label_share=share, domain=_kept(pop)
        ),
    ]


@scenario("night 70% labelled, in push order")
def _s_prefix70(reps):
    return _push_prefix("70% labelled", 0.7, (5, 6), reps)


@scenario("night half-labelled, in push order")
def _s_prefix50(reps):
    return _push_prefix("half labelled", 0.5, (7, 8), reps)


@scenario("the unlabelled strata are the worst ones")
def _s_worst(reps):
    pop, worst = _worst_bare()
    return [run_design("worst strata unlabelled (all bad)", pop, _cfg(), seed=9, reps=reps, never_labelled=worst)]


@scenario("30% of strata not labelled yet, at random", window=(0.93, 1.0))
def _s_random_bare(reps):
    pop, bare = _random_bare()
    return [
        run_design(
            "strata unlabelled at random (bounded: conservative)",
            pop,
            _cfg(),
            seed=10,
            reps=reps,
            never_labelled=bare,
        )  # fmt: skip
    ]


@scenario("budget cap smaller than the number of strata")
def _s_budget(reps):
    pop = _many_strata()
    return [run_design("budget 60 < 96 strata (collapsed)", pop, _cfg(budget=60), seed=11, reps=reps)]


@scenario("heavy, thinly labelled strata with rare defects")
def _s_rare(reps):
    return [run_design("heavy thin strata, rare defects", _rare_defects(), _cfg(0.002), seed=12, reps=reps)]


@scenario("token share, curated-like (long documents worse)")
def _s_tokens(reps):
    pop = _curated_like()
    return [
        run_design("token share, curated-like, 2%", pop, _cfg(), seed=13, reps=reps, metric="tokens"),
        run_design("token share, curated-like, 0.5%", pop, _cfg(0.005), seed=14, reps=reps, metric="tokens"),
    ]


@scenario("token share with 30-60 labels")
def _s_tokens_few(reps):
    pop = _curated_like(seed=701)
    return [run_design("token share, ~40 labels", pop, _cfg(0.003), seed=15, reps=reps, metric="tokens")]


@scenario("annotators flip 5-15% of labels", slow=True)
def _s_noisy(reps):
    return [run_noisy("noisy annotators: corrected share vs truth", seed=16, reps=max(200, reps // 4))]


@scenario("the model trains on the labels", slow=True)
def _s_model(reps):
    return list(run_trained_model("model trained on the labels", seed=17, reps=reps))


@scenario("a rule's drops in one language: precision and good tokens", window=(0.93, 0.99))
def _s_rule_drops(reps):
    pop, fails = _rule_drops()
    cfg = _cfg(0.02, rejected=0.05)
    return [
        run_design("rule drops, one language, 70% labelled: documents", pop, cfg, seed=18, reps=reps,
                   domain=fails, label_share=0.7),
        run_design("rule drops, one language, 70% labelled: tokens", pop, cfg, seed=19, reps=reps,
                   domain=fails, label_share=0.7, metric="tokens"),
    ]  # fmt: skip
