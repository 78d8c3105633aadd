"""Every resource of the code location, built from one ``Settings`` object."""

from __future__ import annotations

from assets.resources import ExecutionResource, LabelStudioResource, RecipeResource, SettingsResource, StoreResource
from pipelines.io_manager import ParquetIOManager
from winnow.settings import Settings


def build_resources(settings: Settings) -> dict:
    """The resources a run needs; tests build theirs the same way from their own settings."""
    ops = SettingsResource.of(settings)
    store = StoreResource(root=str(settings.home), releases=str(settings.releases_root), mode=settings.data_dir_mode)
    return {
        "settings": ops,
        "store": store,
        "io_manager": ParquetIOManager(store=store),
        "recipe": RecipeResource(path=str(settings.recipe)),
        "label_studio": LabelStudioResource(settings=ops),
        "execution": ExecutionResource.of(settings.execution),
    }
