"""Where the filter stage's time goes, per signal family, on both benchmark corpora.

Runs ``compute_signals`` + ``apply_filters`` with the filter benchmark's recipe on the first
``--mb`` MB of each corpus in one process, polars on both cores, with every function that
``winnow.signals.compute.signals_frame`` calls wrapped in a timer (exclusive time: a wrapped
function's time excludes the wrapped functions it calls). The release tokenizer's count, the
parts of ``signals_frame`` outside the wrapped calls (joins, final select) and ``apply_filters``
are timed on their own. The table says what a faster filter stage would have to remove.

    python -m bench.filters.profile [--mb 20]

Writes ``bench/results/filters_profile.json`` and ``.md`` (docs/benchmarks.md includes them).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections import defaultdict

import polars as pl

from bench.filters.run import CORPORA, bench_recipe
from bench.harness import write_results

#: (module, function) pairs that signals_frame calls, by family
WRAPPED = {
    "language ID": [("langid", "detect")],
    "lines and paragraphs (split)": [
        ("lines", "line_frame"),
        ("lines", "paragraph_frame"),
        ("lines", "splitlines_text"),
    ],
    "words (tokens, flags, word stats)": [
        ("lines", "token_frame"),
        ("words", "token_flags"),
        ("words", "doc_word_stats"),
        ("segment", "token_frame"),
    ],
    "Gopher quality (lines)": [("gopher", "line_quality_stats")],
    "Gopher repetition (lines, paragraphs)": [("gopher", "duplicate_stats"), ("gopher", "repetition_lines")],
    "Gopher repetition (n-grams)": [("gopher", "token_hash"), ("gopher", "ngram_stats")],
    "C4": [("c4", "line_flags"), ("c4", "doc_stats")],
    "FineWeb": [("fineweb", "doc_stats")],
    "CJK rules": [("cjk", "signals_frame")],
    "PII": [("pii", "pii_frame")],
}


class Timers:
    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.stack: list[float] = []  # child time accumulated by each open frame

    def wrap(self, label: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t0
                children = self.stack.pop()
                self.total[label] += spent - children
                if self.stack:
                    self.stack[-1] += spent

        return timed


def profile(name: str, mb: float) -> dict:
    from winnow import pii
    from winnow.filters import apply_filters
    from winnow.signals import c4, cjk, compute, fineweb, gopher, langid, lines, segment, words
    from winnow.tokens import n_tokens_expr

    modules = {
        "langid": langid,
        "lines": lines,
        "words": words,
        "segment": segment,
        "gopher": gopher,
        "c4": c4,
        "fineweb": fineweb,
        "cjk": cjk,
        "pii": pii,
    }
    recipe = bench_recipe()
    size = pl.col("text").str.len_bytes().cast(pl.Int64)
    docs = (
        pl.scan_ndjson(CORPORA[name], schema={"id": pl.String, "text": pl.String, "url": pl.String, "lang": pl.String})
        .filter(size.cum_sum() - size < int(mb * 1e6))
        .collect()
    )
    timers = Timers()
    saved = []
    for label, targets in WRAPPED.items():
        for mod, fn in targets:
            original = getattr(modules[mod], fn)
            saved.append((modules[mod], fn, original))
            setattr(modules[mod], fn, timers.wrap(label, original))
    frame_fn = timers.wrap("signals_frame: joins, counts, final select", compute.signals_frame)
    saved.append((compute, "signals_frame", compute.signals_frame))
    compute.signals_frame = frame_fn
    try:
        t0 = time.perf_counter()
        signals = compute.signals_batch(docs["text"], recipe.filters)
        t_signals = time.perf_counter() - t0
        t0 = time.perf_counter()
        docs.select(n_tokens_expr("text", recipe.publish.tokenizer))
        t_tokens = time.perf_counter() - t0
        t0 = time.perf_counter()
        with_signals = pl.concat([docs, signals.struct.unnest()], how="horizontal").lazy()
        apply_filters(with_signals, recipe).select("keep").collect()
        t_filters = time.perf_counter() - t0
    finally:
        for mod, fn, original in saved:
            setattr(mod, fn, original)
    rows = dict(sorted(timers.total.items(), key=lambda kv: -kv[1]))
    rows["release tokenizer (n_tokens, GPT-2 BPE)"] = t_tokens
    rows["apply_filters (rules, reasons)"] = t_filters
    text_bytes = int(docs["text"].str.len_bytes().sum())
    t0 = time.perf_counter()
    docs.select(b=pl.col("text").str.len_bytes().sum(), nl=pl.col("text").str.count_matches("\n", literal=True).sum())
    t_floor = time.perf_counter() - t0
    return {
        "docs": docs.height,
        "text_mb": round(text_bytes / 1e6, 1),
        "signals_s": round(t_signals, 2),
        "one_pass_in_memory_s": round(t_floor, 3),
        "parts_s": {k: round(v, 3) for k, v in rows.items()},
        "total_s": round(t_signals + t_tokens + t_filters, 2),
    }


def _markdown(runs: dict) -> str:
    names = list(runs)
    labels = list(dict.fromkeys(k for r in runs.values() for k in r["parts_s"]))
    lines = [
        "Seconds per part, one process with polars on both cores, on the first MB of each corpus "
        "(" + "; ".join(f"{n}: {r['docs']:,} documents, {r['text_mb']} MB" for n, r in runs.items()) + "):",
        "",
        "| part | " + " | ".join(f"{n} s | {n} share" for n in names) + " |",
        "|---|" + "---|---|" * len(names),
    ]
    for label in labels:
        cells = []
        for n in names:
            v = runs[n]["parts_s"].get(label, 0.0)
            cells.append(f"{v:.2f} | {100 * v / runs[n]['total_s']:.0f}%")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total** | " + " | ".join(f"**{runs[n]['total_s']:.2f}** | 100%" for n in names) + " |",
    )
    lines += [
        "",
        "One in-memory polars pass over the same text (`str.len_bytes` + `str.count_matches`) takes "
        + "; ".join(f"{runs[n]['one_pass_in_memory_s']:.3f} s on {n}" for n in names)
        + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0)
    args = ap.parse_args(argv)
    runs = {name: profile(name, args.mb) for name in CORPORA if CORPORA[name].exists()}
    md = write_results(
        "filters_profile", {"mb": args.mb, "runs": runs}, _markdown(runs), "python -m bench.filters.profile"
    )
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
