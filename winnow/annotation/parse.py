"""Label Studio export JSON -> rows of the ``annotations`` table (schemas.documents.ANNOTATION_SCHEMA).

Pure parsing: one row per (task, annotator). Skipped (cancelled) annotations are not
labels; they are counted, not returned. When an annotator has several annotations on
the same task (an update made as a new annotation), the newest ``updated_at`` wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from schemas.documents import ANNOTATION_SCHEMA, DECISIONS, ISSUE_TAGS

#: Extra columns kept beside ANNOTATION_SCHEMA (additive).
EXTRA = {
    "project_id": pl.Int64(),
    "overlap": pl.Boolean(),
    "pulled_at": pl.Datetime("us", "UTC"),
    #: the task showed the model's pre-annotation (active-learning tasks; blind ones never do)
    "pre_annotated": pl.Boolean(),
    #: joined from the night's annotation_sample (``winnow.annotation.pull.attach_design``)
    "stratum_size": pl.Int64(),
    "holdout": pl.Boolean(),
}


@dataclass
class ParseReport:
    tasks: int = 0
    annotations: int = 0
    cancelled: int = 0
    problems: list[str] = field(default_factory=list)  # "task 12 annotation 34: ..." (kept, flagged)


def _ts(v: str | None) -> datetime | None:
    if not v:
        return None
    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _annotator(completed_by: object, users: Mapping[int, str]) -> str:
    if isinstance(completed_by, dict):
        return completed_by.get("email") or users.get(int(completed_by.get("id", -1))) or str(completed_by.get("id"))
    if completed_by is None:
        return "unknown"
    return users.get(int(completed_by), f"user:{completed_by}")  # type: ignore[call-overload]


def parse_result(result: list[dict]) -> dict:
    """decision / rating / tags / comment from one annotation's ``result`` list."""
    out: dict = {"decision": None, "rating": None, "tags": [], "comment": None}
    for item in result or []:
        name, value = item.get("from_name"), item.get("value") or {}
        if name == "decision":
            choices = value.get("choices") or []
            out["decision"] = choices[0] if choices else None
        elif name == "rating":
            out["rating"] = value.get("rating")
        elif name == "tags":
            out["tags"] = list(value.get("choices") or [])
        elif name == "comment":
            texts = value.get("text") or []
            out["comment"] = "\n".join(texts) if isinstance(texts, list) else str(texts)
    return out


def parse_export(
    tasks: Iterable[dict],
    users: Mapping[int, str] | None = None,
    project_id: int | None = None,
    report: ParseReport | None = None,
) -> pl.DataFrame:
    """Exported tasks (JSON export format) -> annotation rows, newest per (task, annotator)."""
    users = users or {}
    report = report if report is not None else ParseReport()
    pulled = datetime.now(UTC)
    rows: list[dict] = []
    for task in tasks:
        report.tasks += 1
        data = task.get("data") or {}
        for ann in task.get("annotations") or []:
            if ann.get("was_cancelled"):
                report.cancelled += 1
                continue
            report.annotations += 1
            parsed = parse_result(ann.get("result") or [])
            where = f"task {task.get('id')} annotation {ann.get('id')}"
            if parsed["decision"] not in DECISIONS:
                report.problems.append(f"{where}: decision {parsed['decision']!r} is not keep/drop")
            if parsed["rating"] is not None and not 1 <= int(parsed["rating"]) <= 5:
                report.problems.append(f"{where}: rating {parsed['rating']} outside 1..5")
            unknown = [t for t in parsed["tags"] if t not in ISSUE_TAGS]
            if unknown:
                report.problems.append(f"{where}: unknown tags {unknown}")
            created, updated = _ts(ann.get("created_at")), _ts(ann.get("updated_at"))
            rows.append(
                {
                    "doc_id": data.get("doc_id"),
                    "task_id": task.get("id"),
                    "annotation_id": ann.get("id"),
                    "annotator": _annotator(ann.get("completed_by"), users),
                    **parsed,
                    "lead_time_s": ann.get("lead_time"),
                    "created_at": created,
                    "updated_at": updated or created,
                    "stratum": data.get("stratum"),
                    "inclusion_prob": data.get("inclusion_prob"),
                    "sample_kind": data.get("sample_kind"),
                    "partition": data.get("partition"),
                    "project_id": project_id if project_id is not None else task.get("project"),
                    "overlap": bool(data.get("overlap")),
                    "pulled_at": pulled,
                    "pre_annotated": bool(task.get("predictions")),
                    "stratum_size": None,
                    "holdout": None,
                }
            )
    schema = {**ANNOTATION_SCHEMA, **EXTRA}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return newest_per_annotator(frame)


def newest_per_annotator(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (task, annotator): the newest ``updated_at`` (then highest annotation id)."""
    return (
        frame.sort(["task_id", "annotator", "updated_at", "annotation_id"], nulls_last=False)
        .unique(subset=["task_id", "annotator"], keep="last", maintain_order=True)
        .sort(["task_id", "annotator"])
    )


def merge_annotations(previous: pl.DataFrame | None, fresh: pl.DataFrame) -> pl.DataFrame:
    """Incremental pull: fresh rows replace older ones of the same (task, annotator)."""
    if previous is None or previous.height == 0:
        return newest_per_annotator(fresh)
    both = pl.concat([previous.select(fresh.columns), fresh], how="vertical_relaxed")
    return newest_per_annotator(both)
