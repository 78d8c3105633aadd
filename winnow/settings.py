"""Operational settings: where things run and how, never what the data becomes.

The recipe (``schemas/recipe.py``) holds what changes the data and is hashed into
every release. Everything here (paths, endpoints, timeouts, retries, batch sizes,
workers, schedule, partitions) can change without changing a release's identity.

This is the one module that reads the environment. The code location reads it once
(``load_settings``) and hands explicit values to the engine; engine functions take
paths and numbers as arguments.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_ROOT = Path(__file__).resolve().parent.parent
#: the committed settings of the bundled sample deployment
DEFAULT_SETTINGS_FILE = REPO_ROOT / "settings.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelStudioSettings(_Strict):
    """How to reach Label Studio (``winnow.annotation.labelstudio.discover``)."""

    #: False: never talk to Label Studio (the push is skipped with a warning)
    enabled: bool = True
    #: a running server; None = the local one started by ``scripts/labelstudio.sh``
    url: str | None = None
    token: str | None = Field(None, repr=False)
    token_file: str | None = None
    #: the local server's data folder (credentials, pid file); None = ``<home>/labelstudio``
    data_dir: str | None = None
    #: tries after the first failed call, with exponential backoff from backoff_s
    retries: int = Field(4, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    timeout_s: float = Field(120.0, gt=0)
    #: tasks per import request
    import_batch_size: int = Field(1000, ge=1)
    #: how often the annotation sensor asks for new or updated annotations
    sensor_interval_s: int = Field(60, ge=5)
    #: each pull re-reads tasks updated this long before the last watermark (late commits)
    pull_safety_margin_s: float = Field(60.0, ge=0)


class ScheduleSettings(_Strict):
    """The nightly schedule and the partitions it runs over."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    #: first night (YYYY-MM-DD)
    partitions_start: str = "2026-11-01"
    #: first night that does not exist (exclusive); None = up to tomorrow, for a live deployment
    partitions_end: str | None = None


class WorkSettings(_Strict):
    """Batch sizes and workers: memory and speed, never results."""

    #: documents scored per batch (bounds memory while scoring a night)
    score_batch_rows: int = Field(5_000, ge=100)
    #: text per dedup signature batch; each batch in flight needs about 12x this in memory
    dedup_batch_mb: float = Field(8, gt=0)
    #: dedup signature processes: 1 = in the step's process (least memory); more = spawned workers
    dedup_workers: int = Field(1, ge=1)
    #: ingest reads this many files at once on spawned processes (worth it for crawls, whose HTML
    #: extraction is CPU-bound; each process costs about a second to start); 1 = in the step's process
    ingest_workers: int = Field(1, ge=1)
    #: how the nightly job runs its steps. "in_process": one after another in the run's process,
    #: Python and imports paid once (small nights, such as the sample, whose steps take seconds);
    #: "multiprocess": each step in its own process, independent steps in parallel (large nights,
    #: where a step's work dwarfs the seconds its process takes to start)
    executor: Literal["in_process", "multiprocess"] = "multiprocess"
    #: steps at once under "multiprocess"
    max_concurrent_steps: int = Field(2, ge=1)


class ExecutionSettings(_Strict):
    """Where per-shard work runs (``winnow.execution``); the release is the same either way."""

    #: "local": in the step's process, as always; "ray": the per-shard work of ingest (per file),
    #: signals, filters, scoring, the dedup map (per shard) and reduce (per band) and the release
    #: shards runs as Ray tasks on the cluster at ``ray_address``
    mode: Literal["local", "ray"] = "local"
    #: a running cluster: ``host:port`` of its head (``bash scripts/ray.sh start`` gives
    #: 127.0.0.1:6390) or a Ray client address ``ray://host:10001`` (KubeRay)
    ray_address: str | None = None
    #: text per shard, one task each; the default keeps a task under ``task_memory_mb`` (docs/production.md)
    shard_mb: float = Field(8.0, gt=0)
    #: times Ray reruns a task whose worker or node died
    task_retries: int = Field(3, ge=0)
    #: memory each task declares to Ray's scheduler, so a node never runs more tasks than fit
    task_memory_mb: float = Field(2048.0, gt=0)


class ValidationSettings(_Strict):
    """Great Expectations reporting (the suites themselves come from the recipe)."""

    #: render Data Docs (HTML) for each check run
    data_docs: bool = True
    #: validation results (and their Data Docs pages) kept per asset; older ones are pruned
    data_docs_keep_runs: int = Field(200, ge=1)
    #: the Data Docs' CSS and JavaScript, installed from npm by scripts/setup.sh (pages render offline)
    static_dir: Path | None = REPO_ROOT / ".venv" / "share" / "winnow-gx-static" / "node_modules"


class Settings(_Strict):
    """Every operational knob of a Winnow deployment, validated once."""

    #: the data directory: tables, models, the dedup index, validation results, scratch
    home: Path = REPO_ROOT / ".winnow"
    #: the curation recipe
    recipe: Path = REPO_ROOT / "recipes" / "sample.yaml"
    #: published releases; None = ``<home>/releases``
    releases: Path | None = None
    #: permissions of the data directory, which holds raw text with PII, labels and the Dagster
    #: databases: owner only by default. Releases (0755 folders, 0644 files) that other users must
    #: read belong outside it (``releases``), or use 0711 here to let them reach ``<home>/releases``
    data_dir_mode: str = Field("0700", pattern=r"^0?[0-7]{3}$")
    #: recorded in manifests instead of asking git (a build without a checkout)
    code_version: str | None = None
    label_studio: LabelStudioSettings = Field(default_factory=LabelStudioSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    work: WorkSettings = Field(default_factory=WorkSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)

    @property
    def releases_root(self) -> Path:
        return (self.releases or self.home / "releases").resolve()


class SettingsError(ValueError):
    """A settings file or variable that cannot be used; the message names it and the field."""


#: environment variable -> settings field (dotted); the variables override the file
ENV_FIELDS = {
    "WINNOW_HOME": "home",
    "WINNOW_RECIPE": "recipe",
    "WINNOW_RELEASES": "releases",
    "WINNOW_CODE_VERSION": "code_version",
    "WINNOW_LABEL_STUDIO_URL": "label_studio.url",
    "WINNOW_LABEL_STUDIO_TOKEN": "label_studio.token",
    "WINNOW_LABEL_STUDIO_TOKEN_FILE": "label_studio.token_file",
    "WINNOW_LS_DATA": "label_studio.data_dir",
    "WINNOW_EXECUTION": "execution.mode",
    "WINNOW_RAY_ADDRESS": "execution.ray_address",
}
_OFF = ("off", "0", "false", "no")


def settings_from(raw: dict, env: dict[str, str], source: str) -> Settings:
    """Settings from a file's mapping overridden by environment variables (pure: testable)."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for var, dotted in ENV_FIELDS.items():
        if env.get(var):
            *parents, leaf = dotted.split(".")
            node = data
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = env[var]
    if env.get("WINNOW_LABEL_STUDIO", "").lower() in _OFF:
        data.setdefault("label_studio", {})["enabled"] = False
    try:
        s = Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors()]
        raise SettingsError("invalid settings\n" + "\n".join(lines)) from None
    return s.model_copy(update={"home": s.home.resolve(), "recipe": s.recipe.resolve()})


def read_settings_file(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: settings must be a YAML mapping, got {type(raw).__name__}")
    base = path.resolve().parent  # relative paths in the file resolve against its folder
    for key in ("home", "recipe", "releases"):
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(base / raw[key])
    return raw


@lru_cache(maxsize=8)
def _load(path: str, env_items: tuple[tuple[str, str], ...]) -> Settings:
    file = Path(path)
    raw = read_settings_file(file) if file.exists() else {}
    return settings_from(raw, dict(env_items), str(file))


def load_settings() -> Settings:
    """The deployment's settings: ``WINNOW_SETTINGS`` (default ``settings.yaml``) plus variables."""
    env = {k: v for k, v in os.environ.items() if k.startswith("WINNOW_")}
    path = env.get("WINNOW_SETTINGS") or str(DEFAULT_SETTINGS_FILE)
    return _load(path, tuple(sorted(env.items())))


#: set for every Ray task (``winnow.execution.RayRunner``): the cores its thread pools may use
TASK_CPUS_VAR = "WINNOW_TASK_CPUS"


def available_cpus() -> int:
    """Cores this process may keep busy: one for a Ray task (``WINNOW_TASK_CPUS``), else the machine's."""
    value = os.environ.get(TASK_CPUS_VAR)
    return max(1, int(value)) if value else (os.cpu_count() or 1)


def quiet_great_expectations() -> None:
    """Great Expectations reports usage over the network unless told not to; we run offline."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
