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
