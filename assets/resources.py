"""Resources: the recipe (what to do), the store (where data lives) and the operational settings.

``pipelines/resources.py`` builds all of them from one ``Settings`` object, read once
when the code location loads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import dagster as dg
from dagster_ray import Lifecycle, RayResource
from pydantic import Field

from schemas.recipe import Recipe, load_recipe
from winnow.execution import Runner, map_shards, runner_for
from winnow.execution.runners import START_HINT, check_reachable, host_port, summarize
from winnow.settings import ExecutionSettings, Settings
from winnow.store import Store


@lru_cache(maxsize=16)
def _recipe(path: str, mtime_ns: int, size: int) -> Recipe:
    return load_recipe(path)


class RecipeResource(dg.ConfigurableResource):
    """The curation recipe YAML; validated on load, its hash recorded in every release."""

    path: str = Field(description="Recipe YAML file.")

    def load(self) -> Recipe:
        """The parsed recipe: parsed once per process while the file is unchanged."""
        p = Path(self.path)
        try:
            st = p.stat()
        except FileNotFoundError:
            return load_recipe(p)  # raises the recipe error naming the file
        return _recipe(str(p), st.st_mtime_ns, st.st_size)

    @property
    def recipe_dir(self) -> Path:
        return Path(self.path).resolve().parent


class StoreResource(dg.ConfigurableResource):
    """Winnow's data root and its layout (``winnow.store.Store``): the IO manager and every side read use it."""

    root: str = Field(description="The data directory (WINNOW_HOME).")
    releases: str | None = Field(default=None, description="Published releases; None = <root>/releases.")
    mode: str = Field(default="0700", description="The data directory's permissions (settings data_dir_mode).")

    @property
    def store(self) -> Store:
        return Store(Path(self.root), Path(self.releases) if self.releases else None, int(self.mode, 8)).ensure()


@lru_cache(maxsize=16)
def _settings(values: str) -> Settings:
    return Settings.model_validate_json(values)


class SettingsResource(dg.ConfigurableResource):
    """Operational settings (``winnow/settings.py``): endpoints, timeouts, batch sizes, workers.

    Kept apart from the recipe so that changing them never changes a release's identity.
    """

    values: str = Field(description="The validated settings, as JSON.")

    @classmethod
    def of(cls, settings: Settings) -> SettingsResource:
        return cls(values=settings.model_dump_json())

    def get(self) -> Settings:
        return _settings(self.values)


class LabelStudioResource(dg.ConfigurableResource):
    """Where the annotators' Label Studio is (``winnow.annotation.labelstudio.discover``).

    From the settings: ``WINNOW_LABEL_STUDIO_URL`` (+ token), else the local server started
    by ``scripts/labelstudio.sh start`` (credentials from its 0600 file), else "not
    configured": the push is skipped with a warning, never a failure. The token is never
    logged or put in metadata.
    """

    settings: SettingsResource

    def client(self, *, quick: bool = False):
        """A retrying client for the configured server, or None when none is configured."""
        from winnow.annotation.labelstudio import LabelStudioClient, discover

        s = self.settings.get()
        found = discover(s.label_studio, s.home)
        if found is None:
            return None
        cfg = s.label_studio
        return LabelStudioClient.from_settings(
            found, retries=0 if quick else cfg.retries, backoff_s=cfg.backoff_s, timeout_s=cfg.timeout_s
        )


class ExecutionResource(RayResource):
    """Where a step's per-shard work runs (settings ``execution``): here, or on a Ray cluster.

    dagster-ray's resource, pointed at an existing cluster: under ``mode: ray`` each step that
    uses it joins the cluster at ``address`` as a driver when it starts (a clear error naming
    the address if nothing answers) and leaves when it ends; under ``local`` it connects to
    nothing. Operational only: a release is the same either way.
    """

    mode: str = Field(default="local", description="local | ray")
    address: str | None = Field(default=None, description="The cluster: host:port of its head, or ray://host:port.")
    shard_mb: float = Field(default=8.0, description="Text per shard (one task each).")
    retries: int = Field(default=3, description="Reruns of a task whose worker or node died.")
    task_memory_mb: float = Field(default=2048.0, description="Memory each task declares to Ray's scheduler.")

    @classmethod
    def of(cls, e: ExecutionSettings) -> ExecutionResource:
        ray = e.mode == "ray"
        return cls(
            mode=e.mode,
            address=e.ray_address,
            shard_mb=e.shard_mb,
            retries=e.task_retries,
            task_memory_mb=e.task_memory_mb,
            # an existing cluster: nothing to create or delete, only to join (when mode is ray)
            lifecycle=Lifecycle(create=ray, wait=ray, connect=ray, cleanup="never"),
        )

    @property
    def host(self) -> str:
        return host_port(self.address)[0] if self.address else "127.0.0.1"

    @property
    def ray_address(self) -> str:
        return self.address or ""

    @property
    def name(self) -> str:
        return f"Ray cluster at {self.address}"

    @property
    def created(self) -> bool:
        return True

    @property
    def ready(self) -> bool:
        return True

    def connect(self, context):
        if not self.address:
            raise ValueError(f"execution.mode is ray but execution.ray_address is not set; {START_HINT}")
        check_reachable(self.address)
        return super().connect(context)

    def map_shards(self, runner: Runner, source, fn, work_dir: Path, label: str, args: tuple = (), where=None):
        """``winnow.execution.map_shards`` with this deployment's shard size and task memory."""
        return map_shards(
            source,
            fn,
            work_dir,
            runner,
            shard_mb=self.shard_mb,
            label=label,
            args=args,
            where=where,
            memory_mb=self.task_memory_mb,
        )

    def runner(self, workers: int = 1) -> Runner:
        """A fresh runner for one stage (``workers``: local processes, when local)."""
        return runner_for(self.mode, address=self.address, retries=self.retries, workers=workers)


def execution_md(runner: Runner) -> dg.MetadataValue:
    """Where a step's tasks ran: per stage, tasks, nodes, peak task memory and task seconds."""
    return dg.MetadataValue.json({"runner": runner.name, **summarize(runner.reports)})
