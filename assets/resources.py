"""Resources: the recipe (what to do) and where Winnow keeps its data."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from schemas.recipe import Recipe, load_recipe
from winnow.paths import default_recipe_path, releases_dir


class RecipeResource(dg.ConfigurableResource):
    """The curation recipe YAML; validated on load, its hash recorded in every release."""

    path: str = Field(default_factory=lambda: str(default_recipe_path()), description="Recipe YAML file.")

    def load(self) -> Recipe:
        return load_recipe(self.path)

    @property
    def recipe_dir(self) -> Path:
        return Path(self.path).resolve().parent


class ReleaseStoreResource(dg.ConfigurableResource):
    """Root folder of published releases (``releases/<dataset>/<version>/``)."""

    root: str = Field(default_factory=lambda: str(releases_dir()))

    @property
    def path(self) -> Path:
        p = Path(self.root)
        p.mkdir(parents=True, exist_ok=True)
        return p


class LabelStudioResource(dg.ConfigurableResource):
    """Where the annotators' Label Studio is (winnow.annotation.labelstudio.discover).

    By default: ``WINNOW_LABEL_STUDIO_URL`` (+ ``WINNOW_LABEL_STUDIO_TOKEN``), else the
    local server started by ``scripts/labelstudio.sh start`` (credentials from its 0600
    file), else "not configured": the push is skipped with a warning, never a failure.
    ``url``/``token`` override discovery (production); ``enabled=False`` turns it off.
    The token is never logged or put in metadata.
    """

    url: str | None = Field(default=None, description="Label Studio base URL; None = discover.")
    token: str | None = Field(default=None, description="API token; None = discover (env or credentials file).")
    enabled: bool = Field(default=True, description="False: never talk to Label Studio (push skipped).")

    def settings(self):
        from winnow.annotation.labelstudio import LabelStudioSettings, discover

        if not self.enabled:
            return None
        if self.url:
            found = discover()
            token = self.token or (found.token if found else None)
            if not token:
                raise ValueError(f"LabelStudioResource: url {self.url} is set but no token was given or found")
            return LabelStudioSettings(url=self.url.rstrip("/"), token=token, origin="config")
        return discover()

    def client(self, recipe: Recipe, *, quick: bool = False):
        """A retrying client for the configured server, or None when none is configured."""
        from winnow.annotation.labelstudio import LabelStudioClient

        s = self.settings()
        if s is None:
            return None
        cfg = recipe.annotation
        return LabelStudioClient.from_settings(
            s, retries=0 if quick else cfg.retries, backoff_s=cfg.backoff_s, timeout_s=cfg.timeout_s
        )
