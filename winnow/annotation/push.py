"""Push a night's sample to Label Studio: batched, idempotent, crash-safe.

1. The project is found or created by title (``LabelStudioClient.ensure_project``).
2. Under the ledger's lock, ``pending`` rows left by a crashed push are reconciled:
   the project's tasks are walked once (only after a crash) and every pending doc
   already on the server is marked ``sent`` with its task id; the others are
   forgotten and sent again below.
   Then the ledger is checked against the project: when the project holds a different
   number of tasks than the ledger lists as sent (the ledger was deleted, or restored
   from an old copy), the project's tasks are walked and every doc_id the ledger lacks
   is written back as ``sent`` (``reconstructed``), so nothing is imported twice.
3. Rows whose doc_id the ledger marks ``sent`` (this night on a rerun, or any earlier
   night) are skipped: a document is never sent twice to a project.
4. The rest go in batches of ``annotation.import_batch_size``: ledger ``pending`` ->
   import -> overlap tasks get ``overlap = 2`` -> ledger ``sent`` with task ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from winnow.annotation.labelstudio import LabelStudioClient
from winnow.annotation.ledger import LEDGER_SCHEMA, Ledger, ledger_path
from winnow.annotation.redact import task_doc_ids
from winnow.annotation.tasks import format_tasks, validate_tasks


@dataclass
class PushResult:
    project_id: int
    sample_rows: int
    already_sent: int = 0
    imported: int = 0
    batches: int = 0
    recovered_pending: int = 0
    reconstructed: int = 0  # ledger rows rebuilt from the project's tasks
    missing_on_server: int = 0  # tasks the ledger lists that the project no longer has
    resent_pending: int = 0
    overlap_tasks: int = 0
    import_seconds: float = 0.0
    overlap_seconds: float = 0.0
    task_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        d.pop("task_ids")
        return d


def _shown(doc_ids: set[str]) -> dict[str, str]:
    """task_doc_id -> doc_id for these documents (the id a task shows is PII-free)."""
    ordered = sorted(doc_ids)
    return dict(zip(task_doc_ids(pl.Series(ordered, dtype=pl.String)).to_list(), ordered))


def reconcile_pending(
    client: LabelStudioClient, project_id: int, ledger: Ledger, overlap_annotators: int = 2
) -> tuple[int, int]:
    """Resolve ``pending`` ledger rows after a crash; returns (found on server, to resend)."""
    led = ledger.read()
    pending = led.filter(pl.col("state") == "pending")
    if pending.height == 0:
        return 0, 0
    wanted = set(pending["doc_id"].to_list())
    shown = _shown(wanted)
    found = {shown[d]: tid for d, tid in client.doc_task_ids(project_id, set(shown)).items()}
    overlap_docs = set(pending.filter(pl.col("overlap").fill_null(False))["doc_id"].to_list())
    client.set_overlap([tid for d, tid in found.items() if d in overlap_docs], overlap_annotators)
    ledger.mark_sent(found)
    ledger.drop_pending(wanted - set(found))
    return len(found), len(wanted - set(found))


def reconcile_with_server(
    client: LabelStudioClient, project_id: int, ledger: Ledger, sample: pl.DataFrame
) -> tuple[int, int]:
    """Rebuild ledger rows the project has and the ledger lacks; returns (rebuilt, listed but gone).

    One cheap count decides: when the project's task count equals the ledger's sent rows,
    they agree and nothing is walked. Otherwise the walk reads each task's ``doc_id``;
    the design columns come from ``sample`` for this night's documents and from the
    task data for earlier nights'.
    """
    led = ledger.read()
    known = led.filter(pl.col("state") == "sent")
    on_server = client.task_count(project_id)
    if on_server == known.height:
        return 0, 0
    # tasks show task_doc_id, not the doc_id: map them back through the ids we know
    in_ledger = set(led["doc_id"].to_list())
    shown = _shown(in_ledger | set(sample["doc_id"].to_list()))
    tasks = {shown.get(d, d): t for d, t in client.doc_tasks(project_id).items()}
    missing_on_server = known.filter(~pl.col("doc_id").is_in(list(tasks))).height
    lacking = [d for d in tasks if d not in in_ledger]
    if not lacking:
        return 0, missing_on_server
    design = [c for c in LEDGER_SCHEMA if c in sample.columns and c not in ("doc_id", "task_id", "state")]
    server = pl.DataFrame(
        {
            "doc_id": lacking,
            "task_id": [tasks[d][0] for d in lacking],
            "partition": [str(tasks[d][1].get("partition") or "") or None for d in lacking],
            "overlap": [bool(tasks[d][1].get("overlap", False)) for d in lacking],
        },
        schema={"doc_id": pl.String, "task_id": pl.Int64, "partition": pl.String, "overlap": pl.Boolean},
    )
    rows = server.join(sample.select("doc_id", *design), on="doc_id", how="left", suffix="_sample")
    for c in ("partition", "overlap"):
        if f"{c}_sample" in rows.columns:
            rows = rows.with_columns(pl.coalesce(f"{c}_sample", c).alias(c)).drop(f"{c}_sample")
    ledger.add_reconstructed(rows)
    return len(lacking), missing_on_server


def push_sample(
    client: LabelStudioClient,
    project_id: int,
    sample: pl.DataFrame,
    ledger: Ledger,
    *,
    batch_size: int = 1000,
    model_version: str = "winnow-score",
    overlap_annotators: int = 2,
    after_batch: Callable[[int, list[int]], None] | None = None,
) -> PushResult:
    """Import the rows of ``sample`` not yet sent; see the module docstring.

    ``after_batch(batch_index, task_ids)`` is called after each confirmed batch (for
    progress, and for tests that simulate a crash between batches).
    """
    result = PushResult(project_id=project_id, sample_rows=sample.height)
    tasks = format_tasks(sample, model_version)
    problems = validate_tasks(tasks[:50])  # the config's contract; same code makes every task
    if problems:
        raise ValueError("task payloads do not fit schemas/labeling_config.xml:\n" + "\n".join(problems[:10]))
    with ledger.lock():
        result.recovered_pending, result.resent_pending = reconcile_pending(
            client, project_id, ledger, overlap_annotators
        )
        result.reconstructed, result.missing_on_server = reconcile_with_server(client, project_id, ledger, sample)
        sent = ledger.sent_doc_ids()
        todo_mask = [d not in sent for d in sample["doc_id"].to_list()]
        result.already_sent = todo_mask.count(False)
        todo = sample.filter(pl.Series(todo_mask, dtype=pl.Boolean))
        todo_tasks = [t for t, keep in zip(tasks, todo_mask) if keep]
        partition = str(todo["partition"][0]) if todo.height and "partition" in todo.columns else "none"
        for b, start in enumerate(range(0, todo.height, batch_size)):
            rows = todo.slice(start, batch_size)
            batch_tasks = todo_tasks[start : start + batch_size]
            batch_id = f"{partition}:{b}:{rows['doc_id'][0]}"
            ledger.add_pending(rows, batch_id)
            t0 = time.perf_counter()
            ids = client.import_tasks(project_id, batch_tasks)
            t1 = time.perf_counter()
            overlap_ids = (
                [tid for tid, ov in zip(ids, rows["overlap"].fill_null(False).to_list()) if ov]
                if "overlap" in rows.columns
                else []
            )
            client.set_overlap(overlap_ids, overlap_annotators)
            result.import_seconds += t1 - t0
            result.overlap_seconds += time.perf_counter() - t1
            ledger.mark_sent(dict(zip(rows["doc_id"].to_list(), ids)))
            result.imported += len(ids)
            result.overlap_tasks += len(overlap_ids)
            result.batches += 1
            result.task_ids.extend(ids)
            if after_batch is not None:
                after_batch(b, ids)
    return result


PUSHED_SCHEMA = {
    "doc_id": pl.String(),
    "task_id": pl.Int64(),
    "state": pl.String(),
    "partition": pl.String(),
    "stratum": pl.String(),
    "sample_kind": pl.String(),
    "overlap": pl.Boolean(),
    "project_id": pl.Int64(),
}


@dataclass
class NightPush:
    """What a night's push did: the ledger rows of the night's sample, the counts and the time."""

    pushed: pl.DataFrame
    result: PushResult
    project_id: int
    url: str
    seconds: float

    def ledger_warning(self) -> str:
        """What reconciling the ledger with the project found, for the run log."""
        r = self.result
        return (
            f"the sent ledger disagreed with Label Studio project {self.project_id}: "
            f"{r.reconstructed} tasks on the server were missing from the ledger and were written back "
            f"(nothing was imported twice); {r.missing_on_server} tasks the ledger lists are no longer "
            "in the project (deleted there; they are not sent again)"
        )

    def metadata(self) -> dict:
        r, s = self.result, self.seconds
        return {
            "project_id": self.project_id,
            **{k: v for k, v in r.as_dict().items() if k != "project_id"},
            "seconds": round(s, 3),
            "tasks_per_s": round(r.imported / s, 1) if r.imported and s else 0.0,
        }


def push_night(
    client: LabelStudioClient,
    sample: pl.DataFrame,
    ledger_root: Path,
    *,
    project_title: str,
    label_config: str,
    instructions: str,
    batch_size: int,
    model_version: str,
    overlap_annotators: int,
    log: Callable[[str], None] = lambda _m: None,
    warn: Callable[[str], None] = lambda _m: None,
) -> NightPush:
    """Find or create the project, push the sample through the ledger, and read back what was sent."""
    t0 = time.perf_counter()
    try:
        client.wait_healthy()
        project_id = client.ensure_project(project_title, label_config, instructions)
        ledger = Ledger(ledger_path(ledger_root, client.url, project_id))
        result = push_sample(
            client,
            project_id,
            sample,
            ledger,
            batch_size=batch_size,
            model_version=model_version,
            overlap_annotators=overlap_annotators,
            after_batch=lambda b, ids: log(f"imported batch {b}: {len(ids)} tasks"),
        )
    finally:
        client.close()
    pushed = (
        ledger.read()
        .filter(pl.col("doc_id").is_in(sample["doc_id"].implode()))
        .select(
            "doc_id",
            "task_id",
            "state",
            "partition",
            "stratum",
            "sample_kind",
            "overlap",
            project_id=pl.lit(project_id, dtype=pl.Int64),
        )
    )
    night = NightPush(pushed, result, project_id, client.url, time.perf_counter() - t0)
    if result.reconstructed or result.missing_on_server:
        warn(night.ledger_warning())
    return night
