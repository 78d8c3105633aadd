"""Versioned quality models under ``WINNOW_HOME/models/``.

Layout::

    models/
      v0001/model.npz      the QualityModel as arrays + JSON (``winnow.model.model_file``; never pickle)
      v0001/meta.json      version, created_at, metrics, label counts, calibration, feature
                           columns, recipe hash, library versions, labels fingerprint,
                           model_sha256 (checked before the model is loaded)
      v0001/calibration.parquet   the precision / tokens-kept curve
      LATEST               the current version's name (replaced atomically)

A version is written to a temporary folder and renamed into place, then ``LATEST`` is
replaced; readers never see a half-written model. Equal labels and settings have an
equal fingerprint: training again on them reuses the version instead of adding one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from winnow.model.model_file import MODEL_FILE, ModelFileError, load_model_file, model_bytes, sha256
from winnow.storage import write_text_atomic

VERSION_RE = re.compile(r"^v(\d{4,})$")
LEGACY_PICKLE = "model.pkl"
META_FILE = "meta.json"
CURVE_FILE = "calibration.parquet"
LATEST = "LATEST"


class RegistryError(RuntimeError):
    """A model folder that cannot be read; the message names the path."""


@dataclass
class LoadedModel:
    version: str
    model: object  # winnow.model.train.QualityModel
    meta: dict
    path: Path

    @property
    def threshold(self) -> float | None:
        return self.meta.get("threshold")


class ModelRegistry:
    """Versioned models under ``root`` (the store's ``models`` folder) with a LATEST pointer."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
        return sorted(found, key=lambda v: int(VERSION_RE.match(v).group(1)))

    def latest_version(self) -> str | None:
        f = self.root / LATEST
        if not f.is_file():
            return None
        v = f.read_text(encoding="utf-8").strip()
        files = (self.root / v / MODEL_FILE, self.root / v / LEGACY_PICKLE)
        if not VERSION_RE.match(v) or not any(f.is_file() for f in files):
            raise RegistryError(f"{f}: names {v!r}, which is not a complete model version under {self.root}")
        return v

    def meta(self, version: str) -> dict:
        f = self.root / version / META_FILE
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RegistryError(f"{f}: cannot read model metadata: {exc}") from None

    def load(self, version: str | None = None) -> LoadedModel | None:
        """The named (default: latest) model, or None when there is none yet (cold start)."""
        version = version or self.latest_version()
        if version is None:
            return None
        path = self.root / version
        if not (path / MODEL_FILE).is_file() and (path / LEGACY_PICKLE).is_file():
            raise RegistryError(
                f"{path / LEGACY_PICKLE}: a pickled model from an older Winnow; pickles can run code when loaded, "
                "so they are no longer read. Retrain (materialize quality_model) to write it as model.npz"
            )
        meta = self.meta(version)
        try:
            model = load_model_file(path / MODEL_FILE, meta.get("model_sha256"))
        except (ModelFileError, OSError) as exc:
            raise RegistryError(f"cannot load model {version}: {exc}") from None
        model.version = version
        return LoadedModel(version=version, model=model, meta=meta, path=path)

    def find_fingerprint(self, fingerprint: str) -> str | None:
        for v in reversed(self.versions()):
            try:
                if self.meta(v).get("fingerprint") == fingerprint:
                    return v
            except RegistryError:
                continue
        return None

    def _next_version(self) -> str:
        existing = self.versions()
        n = int(VERSION_RE.match(existing[-1]).group(1)) + 1 if existing else 1
        return f"v{n:04d}"

    def set_latest(self, version: str) -> None:
        write_text_atomic(self.root / LATEST, version + "\n")

    def save(self, model, meta: dict, curve: pl.DataFrame | None = None) -> str:
        """Write a new version (atomically) and point LATEST at it; returns the version name."""
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=self.root))
        try:
            for _ in range(100):
                version = self._next_version()
                model.version = version
                data = model_bytes(model)
                meta = {
                    **meta,
                    "version": version,
                    "created_at": datetime.now(UTC).isoformat(),
                    "model_file": MODEL_FILE,
                    "model_sha256": sha256(data),
                }
                (scratch / MODEL_FILE).write_bytes(data)
                (scratch / META_FILE).write_text(
                    json.dumps(meta, indent=2, sort_keys=True, default=str), encoding="utf-8"
                )
                if curve is not None:
                    curve.write_parquet(scratch / CURVE_FILE)
                try:
                    os.rename(scratch, self.root / version)  # fails if another writer took this name
                except OSError:
                    continue
                self.set_latest(version)
                return version
            raise RegistryError(f"{self.root}: could not allocate a new model version")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
