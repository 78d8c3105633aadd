"""Winnow's Gopher, C4 and FineWeb rules against datatrove 0.10.1's filters, on real English documents.

The documents are the English ones (``lang: en`` in the input) of both partitions of the
bundled sample corpus (data/sample/), read through Winnow's own ingest: 2,234 documents.
Each datatrove filter runs on its own on the original text (datatrove's C4 edits the text;
here every filter sees the same input), next to the matching Winnow rule family, with the
language rule off and the English rules applied to every document.

Two comparisons:

* **as shipped**: datatrove with its own English word tokenizer. In 0.10.1 that is
  ``spacy.blank("en")`` (``utils/word_tokenizers.py``: ``SpaCyTokenizer``, assigned to "en" in
  ``assets/tokenizer_assignment.csv``), rule-based and offline: nothing is downloaded, only the
  ``spacy`` package is needed. Winnow approximates that tokenizer with two regex passes.
* **same tokens**: datatrove given Winnow's tokens (a ``WordTokenizer`` passed as its
  ``language``; sentences still by spaCy), so only the rule logic differs.

Keep/drop must agree on at least 98% of documents per filter in both; the per-reason
disagreements are printed (README.md quotes them).
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("gopher_repetition", "gopher_quality", "c4", "fineweb")
MIN_AGREEMENT = 0.98

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def english_docs() -> pl.DataFrame:
    from schemas.recipe import load_recipe
    from winnow.ingest.ingest import ingest_partition

    recipe = load_recipe(REPO / "recipes" / "sample.yaml")
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for partition in ("2026-11-24", "2026-11-25"):
            res = ingest_partition(recipe, REPO / "recipes", partition, Path(tmp) / partition)
            frames.append(res.documents.filter(pl.col("lang") == "en").select("doc_id", "text").collect())
    docs = pl.concat(frames)
    assert docs.height >= 2000, f"only {docs.height} English documents in data/sample"
    return docs


@pytest.fixture(scope="module")
def winnow_decisions(english_docs) -> dict[str, list[str]]:
    """Per family: "keep" or the drop reason, Winnow's rules only for that family."""
    from schemas.recipe import load_recipe
    from winnow.filters import apply_filters
    from winnow.signals import compute_signals

    recipe = load_recipe(REPO / "recipes" / "sample.yaml")
    recipe.filters.language.enabled = False
    recipe.filters.language_thresholds = {}
    recipe.filters.segment_words = False
    signals = compute_signals(english_docs.lazy(), recipe).collect()
    out = {}
    for family in FAMILIES:
        one = recipe.model_copy(deep=True)
        for other in FAMILIES:
            getattr(one.filters, other).enabled = other == family
        d = apply_filters(signals.lazy(), one).select("keep", "drop_reason").collect()
        out[family] = ["keep" if k else r for k, r in zip(d["keep"], d["drop_reason"])]
    return out


class WinnowTokenizer:
    """A datatrove WordTokenizer that returns Winnow's tokens (sentences: spaCy's, as datatrove)."""

    def __new__(cls):
        from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer

        from winnow.signals.lines import tokens_expr

        class _Tok(WordTokenizer):
            def __init__(self):
                super().__init__("en")
                self._spacy = SpaCyTokenizer("en")

            def word_tokenize(self, text: str) -> list[str]:
                lines = pl.DataFrame({"line": text.split("\n")})
                return lines.select(tokens_expr(pl.col("line"))).explode("line").drop_nulls()["line"].to_list()

            def sent_tokenize(self, text: str) -> list[str]:
                return self._spacy.sent_tokenize(text)

            def span_tokenize(self, text: str) -> list[tuple[int, int]]:
                return self._spacy.span_tokenize(text)

        return _Tok()


def _datatrove(texts: list[str], family: str, language) -> list[str]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    cls = {
        "gopher_repetition": GopherRepetitionFilter,
        "gopher_quality": GopherQualityFilter,
        "c4": C4QualityFilter,
        "fineweb": FineWebQualityFilter,
    }[family]
    flt = cls(language=language)
    out = []
    for i, text in enumerate(texts):
        res = flt.filter(Document(text=text, id=str(i)))
        out.append("keep" if res is True else res[1])
    return out


def _report(name: str, family: str, ref: list[str], ours: list[str]) -> float:
    agree = sum((a == "keep") == (b == "keep") for a, b in zip(ref, ours)) / len(ref)
    pairs = collections.Counter((a, b) for a, b in zip(ref, ours) if (a == "keep") != (b == "keep"))
    print(
        f"\n[{name}] {family}: keep/drop agreement {agree:.4f} on {len(ref)} docs; "
        f"datatrove drops {sum(a != 'keep' for a in ref)}, winnow drops {sum(b != 'keep' for b in ours)}"
    )
    for (a, b), n in pairs.most_common():
        print(f"    datatrove {a!r:32} winnow {b!r:32} {n:4d} ({n / len(ref):.2%})")
    return agree


@pytest.mark.parametrize("family", FAMILIES)
def test_agreement_with_datatrove_as_shipped(family, english_docs, winnow_decisions):
    ref = _datatrove(english_docs["text"].to_list(), family, "en")
    assert _report("as shipped", family, ref, winnow_decisions[family]) >= MIN_AGREEMENT


@pytest.mark.parametrize("family", ["gopher_repetition", "gopher_quality", "fineweb"])
def test_agreement_with_datatrove_on_the_same_tokens(family, english_docs, winnow_decisions):
    ref = _datatrove(english_docs["text"].to_list(), family, WinnowTokenizer())
    assert _report("same tokens", family, ref, winnow_decisions[family]) >= MIN_AGREEMENT


def test_reason_codes_match_datatrove(english_docs, winnow_decisions):
    """Where both drop a document, they name the same first reason (C4's codes are prefixed)."""
    for family in FAMILIES:
        ref = _datatrove(english_docs["text"].to_list()[:400], family, "en")
        ours = winnow_decisions[family][:400]
        both = [(a, b.removeprefix("c4_")) for a, b in zip(ref, ours) if a != "keep" and b != "keep"]
        assert both, family
        same = sum(a == b for a, b in both) / len(both)
        assert same >= 0.95, (family, collections.Counter(both).most_common(5))
