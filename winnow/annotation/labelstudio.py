"""Transport to Label Studio: discovery, retries, and the few API calls Winnow needs.

Formatting (``winnow.annotation.tasks``) and parsing (``winnow.annotation.parse``)
are kept apart from transport, so they can be tested offline.

Uses the label-studio-sdk 2.x client (``LabelStudio(base_url=..., api_key=...)``).
The API token is read from the environment or from the credentials file written by
``scripts/labelstudio.sh`` and is never put in an exception message, a log line or
Dagster metadata (``LabelStudioConnection.__repr__`` hides it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from winnow.settings import LabelStudioSettings

START_HINT = (
    "Start it with `scripts/labelstudio.sh start` (or point WINNOW_LABEL_STUDIO_URL and "
    "WINNOW_LABEL_STUDIO_TOKEN at a running server)."
)

T = TypeVar("T")


class LabelStudioUnavailable(RuntimeError):
    """Label Studio was configured but did not answer after retries."""


class LabelStudioError(RuntimeError):
    """Label Studio answered with an error that retrying will not fix."""


@dataclass(frozen=True)
class LabelStudioConnection:
    url: str
    token: str = field(repr=False)
    origin: str  # "env" | "local" | "config"
    credentials_file: str | None = None

    def __repr__(self) -> str:  # never show the token
        return f"LabelStudioConnection(url={self.url!r}, origin={self.origin!r}, token=***)"


def read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def local_data_dir(cfg: LabelStudioSettings, home: Path) -> Path:
    """The local server's folder (``scripts/labelstudio.sh``): credentials, pid file, log."""
    return Path(cfg.data_dir) if cfg.data_dir else Path(home) / "labelstudio"


def discover(cfg: LabelStudioSettings, home: Path) -> LabelStudioConnection | None:
    """Where Label Studio is, or None when none is configured.

    1. ``cfg.url`` (``WINNOW_LABEL_STUDIO_URL``) with ``cfg.token`` or ``cfg.token_file``,
       else the local credentials file: configured.
    2. Else the local server of ``scripts/labelstudio.sh``: configured while its pid file
       exists (``start`` writes it, ``stop`` removes it), even if the process died, so
       a crashed server is reported, not silently skipped.
    3. Else (never started, deliberately stopped, or ``cfg.enabled`` false): None.
    """
    if not cfg.enabled:
        return None
    data = local_data_dir(cfg, home)
    cred_file = data / "credentials.env"
    if cfg.url:
        token = cfg.token
        if not token and cfg.token_file:
            token = Path(cfg.token_file).read_text().strip()
        if not token and cred_file.exists():
            token = read_env_file(cred_file).get("WINNOW_LS_TOKEN")
        if not token:
            raise LabelStudioError(
                f"WINNOW_LABEL_STUDIO_URL is set to {cfg.url} but no API token was found: set "
                "WINNOW_LABEL_STUDIO_TOKEN or WINNOW_LABEL_STUDIO_TOKEN_FILE"
            )
        return LabelStudioConnection(url=cfg.url.rstrip("/"), token=token, origin="env")
    if cred_file.exists() and (data / "labelstudio.pid").exists():
        cred = read_env_file(cred_file)
        return LabelStudioConnection(
            url=cred["WINNOW_LS_URL"].rstrip("/"),
            token=cred["WINNOW_LS_TOKEN"],
            origin="local",
            credentials_file=str(cred_file),
        )
    return None


_RETRYABLE = (httpx.TransportError,)


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


class LabelStudioClient:
    """A thin, retrying wrapper over the SDK client for one server."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        retries: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        from label_studio_sdk import LabelStudio

        self.url = url.rstrip("/")
        self._token = token
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.sdk = LabelStudio(base_url=self.url, api_key=token, timeout=timeout_s)
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, headers={"Authorization": f"Token {token}"})

    @classmethod
    def from_settings(cls, s: LabelStudioConnection, **kw: Any) -> LabelStudioClient:
        return cls(s.url, s.token, **kw)

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r})"

    # -- retries ---------------------------------------------------------------
    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn``; retry connection errors, timeouts and 5xx with exponential backoff."""
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except _RETRYABLE as exc:
                last = exc
            except Exception as exc:  # SDK ApiError / httpx.HTTPStatusError
                code = _status(exc) or getattr(getattr(exc, "response", None), "status_code", None)
                if code is not None and int(code) >= 500:
                    last = exc
                elif code is not None and int(code) in (401, 403):
                    raise LabelStudioError(
                        f"Label Studio at {self.url} rejected the API token (HTTP {int(code)}) on {what}. The token "
                        f"comes from WINNOW_LABEL_STUDIO_TOKEN, label_studio.token / token_file in settings.yaml, "
                        "or the local server's credentials (scripts/labelstudio.sh status shows where)"
                    ) from None
                else:
                    raise LabelStudioError(f"Label Studio at {self.url}: {what} failed: {_short(exc)}") from None
            if attempt < self.retries:
                self._sleep(self.backoff_s * 2**attempt)
        raise LabelStudioUnavailable(
            f"Label Studio at {self.url} did not answer ({what}) after {self.retries + 1} tries "
            f"over ~{self.backoff_s * (2**self.retries - 1):.0f}s: {_short(last)}. {START_HINT}"
        ) from None

    def _get(self, path: str, **params: Any) -> Any:
        def go() -> Any:
            r = self._http.get(path, params=params)
            r.raise_for_status()
            return r.json()

        return self.call(f"GET {path}", go)

    # -- calls -----------------------------------------------------------------
    def health(self) -> bool:
        """One quick probe, no retries."""
        try:
            return self._http.get("/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self) -> None:
        def go() -> None:
            r = self._http.get("/health", timeout=10)
            r.raise_for_status()

        self.call("GET /health", go)

    def _projects_titled(self, title: str) -> list:
        return [  # type: ignore[var-annotated]
            p for p in self.call("list projects", lambda: list(self.sdk.projects.list(title=title))) if p.title == title
        ]

    def find_project(self, title: str) -> int | None:
        """The id of the (oldest) project with this exact title, or None."""
        found = self._projects_titled(title)
        return int(min(p.id for p in found)) if found else None

    def ensure_project(self, title: str, label_config: str, instructions_html: str = "") -> int:
        """The project with this exact title: found, or created once. Config kept in sync."""
        found = self._projects_titled(title)
        if found:
            project = min(found, key=lambda p: p.id)  # oldest wins if someone made a copy
            if (project.label_config or "").strip() != label_config.strip():
                self.call(
                    "update project",
                    lambda: self.sdk.projects.update(
                        id=project.id,
                        label_config=label_config,
                        expert_instruction=instructions_html,
                        show_instruction=bool(instructions_html),
                    ),
                )
            return int(project.id)
        created = self.call(
            "create project",
            lambda: self.sdk.projects.create(
                title=title,
                label_config=label_config,
                expert_instruction=instructions_html,
                show_instruction=bool(instructions_html),
                maximum_annotations=1,
                description="Winnow: review documents sampled from the nightly corpus.",
            ),
        )
        return int(created.id)

    def import_tasks(self, project_id: int, tasks: Sequence[dict]) -> list[int]:
        """Import one batch; returns the new task ids in input order."""

        def go() -> list[int]:
            resp = self.sdk.projects.import_tasks(id=project_id, request=list(tasks), return_task_ids=True)  # type: ignore[arg-type]
            ids = list(resp.task_ids or [])  # type: ignore[attr-defined]
            if len(ids) != len(tasks):
                raise LabelStudioError(
                    f"Label Studio at {self.url}: imported {len(tasks)} tasks but got {len(ids)} ids back"
                )
            return [int(i) for i in ids]

        # Not retried: an import that reached the server must not be sent again blindly;
        # the ledger's pending rows are reconciled on the next push instead.
        try:
            return go()
        except _RETRYABLE as exc:
            raise LabelStudioUnavailable(
                f"Label Studio at {self.url} did not answer an import of {len(tasks)} tasks: {_short(exc)}. "
                f"{START_HINT} The batch is recorded as pending and reconciled on the next run."
            ) from None

    def set_overlap(self, task_ids: Iterable[int], overlap: int, workers: int = 4) -> None:
        """Ask for ``overlap`` distinct annotators on these tasks (Label Studio's task.overlap).

        Community Label Studio has no bulk call for this, so it is one PATCH per task,
        sent ``workers`` at a time (idempotent, so retried like a read).
        """
        from concurrent.futures import ThreadPoolExecutor

        def one(tid: int) -> None:
            def go() -> None:
                r = self._http.patch(f"/api/tasks/{tid}/", json={"overlap": overlap})
                r.raise_for_status()

            self.call(f"PATCH /api/tasks/{tid}", go)

        ids = list(task_ids)
        if len(ids) <= 1 or workers <= 1:
            for tid in ids:
                one(tid)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, ids))

    def iter_tasks(
        self,
        project_id: int,
        *,
        query: dict | None = None,
        page_size: int = 1000,
        fields: str = "task_only",
        include: str | None = None,
    ) -> Iterable[dict]:
        """Tasks of a project page by page (raw JSON), optionally filtered (Data Manager query)."""
        page = 1
        while True:
            params: dict[str, Any] = {"project": project_id, "page": page, "page_size": page_size, "fields": fields}
            if query:
                params["query"] = json.dumps(query)
            if include:
                params["include"] = include

            def go(params: dict = params) -> httpx.Response:
                return self._http.get("/api/tasks/", params=params)

            resp = self.call("GET /api/tasks", go)
            if resp.status_code == 404:  # past the last page
                return
            if resp.status_code >= 400:
                raise LabelStudioError(f"Label Studio at {self.url}: listing tasks failed: HTTP {resp.status_code}")
            body = resp.json()
            tasks = body.get("tasks", body if isinstance(body, list) else [])
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

    def doc_task_ids(self, project_id: int, doc_ids: set[str] | None = None) -> dict[str, int]:
        """Task ids of tasks whose data.doc_id is in ``doc_ids`` (all when None); walks the project once."""
        return {d: tid for d, (tid, _data) in self.doc_tasks(project_id, doc_ids).items()}

    def doc_tasks(self, project_id: int, doc_ids: set[str] | None = None) -> dict[str, tuple[int, dict]]:
        """(task id, task data) of the oldest task of each doc_id (in ``doc_ids``, or all when None)."""
        found: dict[str, tuple[int, dict]] = {}
        for t in self.iter_tasks(project_id, include="id,data"):
            data = t.get("data") or {}
            d = data.get("doc_id")
            if d is not None and (doc_ids is None or d in doc_ids) and d not in found:
                found[d] = (int(t["id"]), data)
        return found

    def task_count(self, project_id: int) -> int:
        """How many tasks the project holds (one cheap call; no task is listed)."""
        return int(self._get(f"/api/projects/{project_id}/").get("task_number") or 0)

    def changed_tasks(self, project_id: int, since: datetime | None) -> list[dict]:
        """Annotated tasks updated after ``since`` (id, updated_at only): what a pull must fetch."""
        items = [{"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]
        if since is not None:
            items.append(
                {
                    "filter": "filter:tasks:updated_at",
                    "operator": "greater",
                    "type": "Datetime",
                    "value": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
        q = {"filters": {"conjunction": "and", "items": items}, "ordering": ["tasks:updated_at"]}
        return list(self.iter_tasks(project_id, query=q, include="id,updated_at"))

    def export_tasks(self, project_id: int, task_ids: Sequence[int] | None = None) -> list[dict]:
        """Annotated tasks with their annotations (JSON export), optionally only ``task_ids``."""
        out: list[dict] = []
        ids = list(task_ids) if task_ids is not None else None
        chunks = [ids[i : i + 500] for i in range(0, len(ids), 500)] if ids else [None]
        if ids is not None and not ids:
            return []
        for chunk in chunks:

            def go(chunk: list[int] | None = chunk) -> list[dict]:
                params: list[tuple[str, Any]] = [("exportType", "JSON"), ("download_all_tasks", "false")]
                params += [("ids[]", i) for i in (chunk or [])]
                r = self._http.get(f"/api/projects/{project_id}/export", params=params)
                r.raise_for_status()
                return r.json()

            out.extend(self.call("export annotations", go))
        return out

    def users(self) -> dict[int, str]:
        """User id -> email (annotators are named by email)."""
        data = self._get("/api/users/")
        rows = data.get("results", data) if isinstance(data, dict) else data
        return {int(u["id"]): (u.get("email") or u.get("username") or str(u["id"])) for u in rows}

    def close(self) -> None:
        self._http.close()


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:300] + "..."
