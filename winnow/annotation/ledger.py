"""The sent ledger: which documents were already sent to which Label Studio project.

One Parquet file per (server, project) under ``<winnow_home>/annotation/ledger/``,
rewritten atomically (temporary file + rename) after every import batch. A batch is
written as ``pending`` *before* it is sent and turned into ``sent`` (with its task
ids) once Label Studio confirmed it, so a crash between the two leaves ``pending``
rows that the next push reconciles against the server (see ``winnow.annotation.push``)
instead of importing them again. A file lock serializes concurrent pushes.

The server stays the source of truth: every task carries its ``doc_id``, so a lost or
stale ledger is rebuilt from the project's tasks before anything is imported.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from winnow.storage import atomic_path, read_state_parquet

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "task_id": pl.Int64(),  # null while pending
    "state": pl.String(),  # "pending" | "sent"
    "batch_id": pl.String(),
    "partition": pl.String(),
    "stratum": pl.String(),
    "sample_kind": pl.String(),
    "inclusion_prob": pl.Float64(),
    "overlap": pl.Boolean(),
    "sent_at": pl.Datetime("us", "UTC"),
}


#: batch_id of rows rebuilt from Label Studio after the ledger was lost or restored from an old copy
RECONSTRUCTED = "reconstructed-from-label-studio"


def ledger_path(root: Path, server_url: str, project_id: int) -> Path:
    host = re.sub(r"[^A-Za-z0-9]+", "_", server_url.split("://", 1)[-1]).strip("_")
    return root / "annotation" / "ledger" / f"{host}__project{project_id}.parquet"


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> pl.DataFrame:
        if not self.path.exists():
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        frame = read_state_parquet(
            self.path,
            "the annotation ledger: which documents were sent to this Label Studio project",
            f"delete {self.path}; the next push rebuilds it from the project's tasks, which carry their doc_id",
        )
        return frame.select(list(LEDGER_SCHEMA))

    def write(self, frame: pl.DataFrame) -> None:
        with atomic_path(self.path) as tmp:
            frame.select([pl.col(c).cast(t) for c, t in LEDGER_SCHEMA.items()]).write_parquet(tmp)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock for a whole push (two nights pushing at once wait in turn)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def sent_doc_ids(self) -> set[str]:
        led = self.read()
        return set(led.filter(pl.col("state") == "sent")["doc_id"].to_list())

    def add_pending(self, rows: pl.DataFrame, batch_id: str) -> None:
        now = datetime.now(UTC)
        cols = [c for c in LEDGER_SCHEMA if c in rows.columns and c not in ("task_id", "state", "batch_id", "sent_at")]
        new = rows.select(cols).with_columns(
            task_id=pl.lit(None, dtype=pl.Int64),
            state=pl.lit("pending"),
            batch_id=pl.lit(batch_id),
            sent_at=pl.lit(now, dtype=pl.Datetime("us", "UTC")),
        )
        self.write(pl.concat([self.read(), new], how="diagonal_relaxed"))

    def add_reconstructed(self, rows: pl.DataFrame) -> None:
        """Rows rebuilt from the server's tasks (``doc_id``, ``task_id`` and what else is known) as ``sent``."""
        now = datetime.now(UTC)
        cols = [c for c in LEDGER_SCHEMA if c in rows.columns and c not in ("state", "batch_id", "sent_at")]
        new = rows.select(cols).with_columns(
            state=pl.lit("sent"),
            batch_id=pl.lit(RECONSTRUCTED),
            sent_at=pl.lit(now, dtype=pl.Datetime("us", "UTC")),
        )
        self.write(pl.concat([self.read(), new], how="diagonal_relaxed"))

    def mark_sent(self, task_ids: dict[str, int]) -> None:
        """Pending rows whose doc_id is in ``task_ids`` become ``sent`` with that task id."""
        if not task_ids:
            return
        m = pl.DataFrame(
            {"doc_id": list(task_ids), "_tid": list(task_ids.values())}, schema={"doc_id": pl.String, "_tid": pl.Int64}
        )
        led = (
            self.read()
            .join(m, on="doc_id", how="left")
            .with_columns(
                task_id=pl.coalesce("task_id", "_tid"),
                state=pl.when(pl.col("_tid").is_not_null()).then(pl.lit("sent")).otherwise(pl.col("state")),
            )
            .drop("_tid")
        )
        self.write(led)

    def drop_pending(self, doc_ids: set[str]) -> None:
        """Forget pending rows that never reached the server (they will be sent again)."""
        led = self.read()
        self.write(led.filter(~((pl.col("state") == "pending") & pl.col("doc_id").is_in(list(doc_ids)))))
