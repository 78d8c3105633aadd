#!/usr/bin/env python3
"""Write ``schemas/language_thresholds.yaml`` from FineWeb-2's per-language filter configs.

Why: FineWeb-2 (Penedo et al. 2025) tuned the Gopher repetition, Gopher quality and FineWeb
thresholds and the stop words of each language from the distribution of each signal on that
language's reference data, and published the results as ``configs/{iso3}_{script}.yml``.
Winnow adopts them, as FineWeb-2's pipeline applies them (``fineweb-2-pipeline.py``), and
records for every language the file it came from. The table is committed; this script shows
how it was made and remakes it from a checkout of https://github.com/huggingface/fineweb-2.

Not adopted: ``language_score`` (a GlotLID confidence; Winnow's language ID is fastText
lid.176, whose scores are on another scale). Winnow's own additions (C4 for scripts without
sentence punctuation) are in ``WINNOW_OVERRIDES`` with their reason.

Usage: ``python -m scripts.thresholds.fineweb2_table --fineweb2 PATH [--commit SHA]``
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "schemas" / "language_thresholds.yaml"

#: fastText lid.176 label -> FineWeb-2 config (ISO 639-3 + script)
CONFIGS = {
    "ar": "arb_Arab", "bg": "bul_Cyrl", "bn": "ben_Beng", "ca": "cat_Latn", "cs": "ces_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "es": "spa_Latn", "fi": "fin_Latn",
    "fr": "fra_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hu": "hun_Latn", "id": "ind_Latn",
    "it": "ita_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang", "nl": "nld_Latn", "no": "nob_Latn",
    "pl": "pol_Latn", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sv": "swe_Latn",
    "th": "tha_Thai", "tr": "tur_Latn", "uk": "ukr_Cyrl", "vi": "vie_Latn", "zh": "cmn_Hani",
}  # fmt: skip

#: how FineWeb-2's pipeline sets what its configs do not hold (the same for every language; its
#: min_stop_words=2 is Winnow's default already, so a recipe's own value still applies to all)
PIPELINE_FIXED = {
    # "trafilatura pretty much removes paragraphs and we use a different threshold for
    # dup_line_char_frac in fineweb quality": these three are off
    "gopher_repetition": {"dup_para_frac": 0, "dup_line_char_frac": 0, "dup_para_char_frac": 0},
    # short_line_thr=999 (off); char_duplicates_ratio 0.1 ("changed from 0.01 in fineweb english")
    "fineweb": {"short_line_thr": 1.0, "char_duplicates_ratio": 0.1},
}

#: Winnow's own choices, where FineWeb-2 has nothing to follow (it applies no C4 rule at all)
WINNOW_OVERRIDES = {
    "th": {
        "c4": {"min_num_sentences": -1},
        "why": "Thai marks sentences with spaces, not punctuation: C4's sentence count has nothing to count",
    },
}


def _pairs(value: list[list[float]]) -> dict[int, float]:
    return {int(n): float(t) for n, t in value}


def entry(lang: str, config: str, raw: dict) -> dict:
    """One language's row of the table, with where each part came from."""
    rep = {"dup_line_frac": raw["dup_line_frac"], "top_n_grams": _pairs(raw["top_n_grams"])}
    rep["dup_n_grams"] = _pairs(raw["dup_n_grams"])
    out: dict = {
        "source": f"FineWeb-2 configs/{config}.yml",
        "stop_words": [str(w) for w in raw["stopwords"]],
        "gopher_quality": {
            "min_avg_word_length": raw["min_avg_word_length"],
            "max_avg_word_length": raw["max_avg_word_length"],
            "max_non_alpha_words_ratio": raw["max_non_alpha_words_ratio"],
        },
        "gopher_repetition": {**rep, **PIPELINE_FIXED["gopher_repetition"]},
        "fineweb": {
            "line_punct_thr": raw["line_punct_thr"],
            "new_line_ratio": raw["new_line_ratio"],
            **PIPELINE_FIXED["fineweb"],
        },
    }
    extra = WINNOW_OVERRIDES.get(lang)
    if extra:
        out["c4"] = extra["c4"]
        out["source"] += f"; Winnow: {extra['why']}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fineweb2", type=Path, required=True, help="a checkout (or bare mirror) of huggingface/fineweb-2")
    ap.add_argument("--commit", default="HEAD")
    args = ap.parse_args()
    git = ["git", "-C", str(args.fineweb2)]
    sha = subprocess.run([*git, "rev-parse", args.commit], check=True, capture_output=True, text=True).stdout.strip()
    table = {}
    for lang, config in sorted(CONFIGS.items()):
        text = subprocess.run(
            [*git, "show", f"{sha}:configs/{config}.yml"], check=True, capture_output=True, text=True
        ).stdout
        table[lang] = entry(lang, config, yaml.safe_load(text))
    header = (
        "# Per-language filter thresholds and stop words (schemas/recipe.py: filters.language_thresholds).\n"
        f"# Made by scripts/thresholds/fineweb2_table.py from huggingface/fineweb-2 at {sha}\n"
        "# (Apache-2.0): each language's `source` names its config file. Do not edit by hand;\n"
        "# override a value in a recipe instead. English has no row: it uses the family defaults\n"
        "# (datatrove's, as FineWeb English). See docs/languages.md.\n"
    )
    body = yaml.safe_dump({"fineweb2_commit": sha, "languages": table}, allow_unicode=True, sort_keys=True, width=100)
    OUT.write_text(header + body, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {len(table)} languages from {sha[:10]}")


if __name__ == "__main__":
    main()
