"""Word segmentation for languages written without spaces between words.

Counting each Han or kana character as a word (the fast path, ``lines.token_frame``) makes
a Chinese "word" one character long, so word-length, stop-word and n-gram rules judge
Chinese on a scale they were never tuned for. These segmenters are the ones datatrove
assigns for FineWeb-2 (``datatrove/utils/word_tokenizers.py``), and every one ships its
dictionary or model inside its wheel, so nothing is downloaded at run time:

* ``zh``: jieba's dictionary and HMM, through ``rjieba`` (jieba-rs, about 20x faster than
  the Python jieba that datatrove calls through spaCy; 83% of lines split identically);
* ``ja``: ``sudachipy`` with ``sudachidict-core``, split mode A (spaCy's default, which
  datatrove uses);
* ``ko``: ``kiwipiepy`` with ``kiwipiepy-model`` (morphemes, as datatrove's KiwiTokenizer);
* ``th``: ``pythainlp``'s ``newmm`` with its bundled dictionary.

Every other language keeps the fast regex path. Whitespace tokens are dropped; everything
else a segmenter returns (punctuation included) is a token, as spaCy's are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import polars as pl

#: language -> what segments it (docs/languages.md quotes this table)
SEGMENTERS = {
    "zh": "rjieba 0.2 (jieba-rs: jieba's dictionary and HMM)",
    "ja": "sudachipy 0.7 + sudachidict-core, split mode A",
    "ko": "kiwipiepy 0.24 + kiwipiepy-model (morphemes)",
    "th": "pythainlp 5.4, newmm with its bundled dictionary",
}


_LOCAL = threading.local()


def cutter(lang: str) -> Callable[[str], list[str]]:
    """A function text -> tokens for ``lang``: one per thread (polars runs batches on several
    threads, and a sudachi tokenizer refuses concurrent use), loaded once per thread."""
    made = getattr(_LOCAL, "cutters", None)
    if made is None:
        made = _LOCAL.cutters = {}
    if lang not in made:
        made[lang] = _make_cutter(lang)
    return made[lang]


def _make_cutter(lang: str) -> Callable[[str], list[str]]:
    if lang == "zh":
        import rjieba

        return lambda text: rjieba.cut(text, True)
    if lang == "ja":
        from sudachipy import Dictionary, SplitMode

        tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.A, fields={"surface"})
        # sudachi refuses inputs over 49,149 bytes: cut long lines at characters, on a boundary
        return lambda text: [m.surface() for part in _chunks(text, 16_000) for m in tokenizer.tokenize(part)]
    if lang == "ko":
        from kiwipiepy import Kiwi

        kiwi = Kiwi()
        return lambda text: [t.form for t in kiwi.tokenize(text)]
    if lang == "th":
        from pythainlp.tokenize import word_tokenize

        return lambda text: word_tokenize(text, engine="newmm", keep_whitespace=False)
    raise KeyError(f"no word segmenter for language {lang!r}; these have one: {', '.join(SEGMENTERS)}")


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] if len(text) > size else [text]


def token_frame(lines: pl.DataFrame, lang: pl.Series) -> pl.DataFrame:
    """One row per segmented token of every non-blank line: ``_d``, ``_l``, ``tok``.

    ``lines`` is a ``lines.line_frame``; ``lang[_d]`` names each document's segmenter (every
    ``_d`` in ``lines`` must have one). Lines are cut one call each, in text order.
    """
    frame = lines.filter(pl.col("line").str.contains(r"\S")).select(
        "_d", "_l", "line", _lang=lang.gather(lines.filter(pl.col("line").str.contains(r"\S"))["_d"])
    )
    parts = []
    for code in frame["_lang"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("_lang") == code)
        cut = cutter(code)
        toks = pl.Series("tok", [cut(line) for line in part["line"].to_list()], dtype=pl.List(pl.String))
        parts.append(part.select("_d", "_l").with_columns(toks))
    if not parts:
        return pl.DataFrame(schema={"_d": lines.schema["_d"], "_l": pl.Int64, "tok": pl.String})
    return (
        pl.concat(parts)
        .sort("_l", maintain_order=True)
        .explode("tok")
        .with_columns(pl.col("tok").str.strip_chars())
        .filter(pl.col("tok").is_not_null() & (pl.col("tok") != ""))
    )
