"""Resources: the recipe (what to do), the store (where data lives) and the operational settings.

``pipelines/resources.py`` builds all of them from one ``Settings`` object, read once
when the code location loads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import dagster as dg
from pydantic import Field

from schemas.recipe import Recipe, load_recipe
from winnow.settings import Settings
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
