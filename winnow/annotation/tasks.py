"""Label Studio task payloads: sample rows -> task JSON.

**Blind probability sample.** Random and rejected-slice tasks (``BLIND_KINDS``) carry
the text and neutral context only: source, language, the night and the document id.
No pipeline verdict, no score, no stratum (its name holds both), no sample kind and
no pre-annotation, in the labelling view or in the Data Manager's columns, because
an annotator who sees the machine's answer tends to agree with it, and these labels
measure the machine. Their design columns are joined back from the night's
``annotation_sample`` when the labels are pulled (``winnow.annotation.pull.attach_design``).
Active-learning tasks keep the pre-annotation and the signals: they exist to teach the
model, and never enter an estimate.

Pure formatting, no transport: testable offline and checked against the labeling
config with ``label_studio_sdk.label_interface.LabelInterface``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
LABEL_CONFIG_PATH = SCHEMAS_DIR / "labeling_config.xml"
INSTRUCTIONS_PATH = SCHEMAS_DIR / "annotator_instructions.md"

#: Control names in schemas/labeling_config.xml
DECISION, RATING, TAGS, COMMENT, TEXT = "decision", "rating", "tags", "comment", "text"

#: Sample kinds labelled blind (the probability sample).
BLIND_KINDS = ("random", "rejected")
#: Signal columns copied into active-learning task data (shown in the Data Manager).
TASK_SIGNALS = ["status", "drop_reason", "drop_family", "score_source", "lang_score", "n_chars", "n_words"]


@lru_cache(maxsize=1)
def label_config() -> str:
    return LABEL_CONFIG_PATH.read_text(encoding="utf-8")


def instructions_html() -> str:
    """The annotator instructions (Markdown in schemas/) as HTML for the project."""
    md = INSTRUCTIONS_PATH.read_text(encoding="utf-8")
    try:
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark").render(md)
    except ImportError:  # pragma: no cover - markdown-it ships with rich (dagster)
        import html

        return f"<pre>{html.escape(md)}</pre>"


def _num(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def info_line(row: dict) -> str:
    """The context line above the text: neutral for blind tasks, with the machine's view for active ones."""
    parts = [f"source: {row.get('source') or 'unknown'}", f"language: {row.get('sample_lang') or 'und'}"]
    if row.get("sample_kind") in BLIND_KINDS:
        return " · ".join(parts)
    score = row.get("quality_score")
    score_s = "n/a" if score is None else f"{score:.2f}"
    src = row.get("score_source")
    parts += [
        f"score: {score_s}" + (f" ({src})" if src else ""),
        f"pipeline: {row.get('status') or 'kept'}" + (f" ({row['drop_reason']})" if row.get("drop_reason") else ""),
        f"sampled: {row.get('sample_kind')}",
    ]
    return " · ".join(parts)


def prediction(score: float | None, model_version: str) -> dict | None:
    """Pre-annotation from the current score: decision (keep iff score >= 0.5) and a rating."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    s = min(1.0, max(0.0, float(score)))
    decision = "keep" if s >= 0.5 else "drop"
    return {
        "model_version": model_version,
        "score": round(max(s, 1 - s), 4),
        "result": [
            {"from_name": DECISION, "to_name": TEXT, "type": "choices", "value": {"choices": [decision]}},
            {"from_name": RATING, "to_name": TEXT, "type": "rating", "value": {"rating": 1 + round(4 * s)}},
        ],
    }


def format_task(row: dict, model_version: str = "winnow-score") -> dict:
    """One sample row -> a Label Studio task (``data``, plus ``predictions`` for active rows)."""
    data = {
        "text": row.get("text") or "",
        "info": info_line(row),
        "doc_id": row.get("task_doc_id") or row["doc_id"],  # PII-free (winnow.annotation.redact)
        "partition": row.get("partition"),
        "source": row.get("source"),
        "lang": row.get("sample_lang"),
        "overlap": bool(row.get("overlap")),
        "url": row.get("url"),
    }
    if row.get("sample_kind") in BLIND_KINDS:
        return {"data": data}
    p = row.get("inclusion_prob")
    data |= {
        "quality_score": _num(row.get("quality_score")),
        "stratum": row.get("stratum"),
        "inclusion_prob": _num(p),
        "weight": _num(1.0 / p) if p else None,
        "sample_kind": row.get("sample_kind"),
    }
    data.update({k: _num(row[k]) for k in TASK_SIGNALS if k in row and row[k] is not None})
    task: dict = {"data": data}
    pred = prediction(row.get("quality_score"), model_version)
    if pred is not None:
        task["predictions"] = [pred]
    return task


def format_tasks(sample: pl.DataFrame, model_version: str = "winnow-score") -> list[dict]:
    return [format_task(r, model_version) for r in sample.iter_rows(named=True)]


def validate_tasks(tasks: list[dict], config: str | None = None) -> list[str]:
    """Problems with task payloads against the labeling config (empty when all valid)."""
    from label_studio_sdk.label_interface import LabelInterface

    li = LabelInterface(config or label_config())
    problems: list[str] = []
    needed = {"text", "info"}
    for i, t in enumerate(tasks):
        missing = needed - set(t.get("data", {}))
        if missing:
            problems.append(f"task {i} ({t.get('data', {}).get('doc_id')}): data lacks {sorted(missing)}")
        for pred in t.get("predictions", []):
            errs = li.validate_prediction(pred, return_errors=True)
            if errs is not True and errs:
                problems.append(f"task {i} ({t['data'].get('doc_id')}): prediction invalid: {errs}")
    return problems
