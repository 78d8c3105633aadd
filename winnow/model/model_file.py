"""The quality model on disk: numeric arrays and JSON, a format that cannot run code.

A pickled model runs whatever its file says when it is loaded, so a swapped file ran a
shell command as the pipeline's user. The model is a linear classifier over stateless
hashed features, so it is fully described by its coefficients, intercept, classes and
the featurizer's scaling arrays (``model.npz``, loaded with ``allow_pickle=False``) plus
the feature settings (JSON inside the same file). Its sha256 is recorded at training
time in the version's ``meta.json`` and checked before loading, so a damaged or
replaced file is refused by name instead of scoring the night.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from winnow.model.features import FeatureSpec, Featurizer
from winnow.model.train import QualityModel

MODEL_FILE = "model.npz"
FORMAT = "winnow-linear-v1"


class ModelFileError(ValueError):
    """A model file that is not a complete, unchanged Winnow model."""


def model_bytes(model: QualityModel) -> bytes:
    """The model as the bytes of one ``.npz`` file (arrays only; settings as UTF-8 JSON bytes)."""
    clf = model.clf
    settings = {"format": FORMAT, "spec": asdict(model.featurizer.spec), "threshold": model.threshold}
    buf = io.BytesIO()
    np.savez(
        buf,
        coef=np.asarray(clf.coef_, dtype=np.float64),
        intercept=np.asarray(clf.intercept_, dtype=np.float64),
        classes=np.asarray(clf.classes_).astype(bool),
        mean=np.asarray(model.featurizer.mean, dtype=np.float64),
        std=np.asarray(model.featurizer.std, dtype=np.float64),
        settings=np.frombuffer(json.dumps(settings, sort_keys=True).encode(), dtype=np.uint8),
    )
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_model_file(path: Path, expected_sha256: str | None) -> QualityModel:
    """The model in ``path``, after checking its sha256 against the one recorded at training."""
    data = Path(path).read_bytes()
    if expected_sha256 is None:
        raise ModelFileError(f"{path}: its meta.json records no model_sha256, so the file cannot be checked")
    if sha256(data) != expected_sha256:
        raise ModelFileError(
            f"{path}: sha256 {sha256(data)[:16]}… differs from the {expected_sha256[:16]}… recorded at training; "
            "the file was damaged or replaced after it was written"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("coef", "intercept", "classes", "mean", "std", "settings")}
        settings = json.loads(arrays["settings"].tobytes().decode())
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: not a complete model file: {type(exc).__name__}: {exc}") from None
    if settings.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format {settings.get('format')!r}, expected {FORMAT!r}")
    clf = LogisticRegression()
    clf.coef_ = arrays["coef"]
    clf.intercept_ = arrays["intercept"]
    clf.classes_ = arrays["classes"]
    clf.n_features_in_ = arrays["coef"].shape[1]
    featurizer = Featurizer(FeatureSpec(**settings["spec"]), mean=arrays["mean"], std=arrays["std"])
    return QualityModel(featurizer, clf, threshold=settings["threshold"])
