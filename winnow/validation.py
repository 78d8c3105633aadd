"""Run the expectation suites of ``schemas.expectations`` with Great Expectations 1.x.

The table (a polars frame) is reduced to the columns its suite reads, converted to
pandas (strings stay Arrow-backed, so the conversion and GE's string metrics are
vectorized) and validated by GE's pandas engine in an ephemeral data context, in one
pass with result format SUMMARY. Each run then:

- renders Data Docs (HTML) into one site per asset, ``<root>/data_docs/<asset>/``
  (validation results are kept as JSON under ``<root>/gx_results/<asset>/`` so the
  site's index lists the recent runs; older ones are pruned);
- writes a JSON summary to ``<root>/<asset>/<partition>.json`` (read by publishing into
  the release manifest);
- returns a :class:`ValidationOutcome` naming each failing expectation, its column and
  up to ``max_ids`` failing row ids (``doc_id``).

Great Expectations takes seconds to import, so it is imported only when a suite runs.
Nothing here imports Dagster.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from schemas.expectations import SuiteSpec, build_suite
from winnow.data_docs_static import localize
from winnow.settings import quiet_great_expectations
from winnow.stopwatch import Stopwatch
from winnow.storage import write_text_atomic

#: Data Docs site and result store names inside the (ephemeral) GE context.
SITE = "winnow"
#: Validation results (and so Data Docs pages) kept per asset by default; older ones are pruned.
KEEP_RESULTS = 200


class ValidationInputError(ValueError):
    """The table handed to a suite cannot be validated (names the table and the problem)."""


@dataclass
class Failure:
    """One failed expectation."""

    expectation: str
    column: str | None
    description: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    failing_ids: list[str] = field(default_factory=list)
    sample_values: list[str] = field(default_factory=list)
    observed_value: Any = None
    exception: str | None = None

    def headline(self) -> str:
        col = f" on column {self.column}" if self.column else ""
        if self.exception:
            what = f"raised: {self.exception}"
        elif self.unexpected_count is not None:
            what = f"{self.unexpected_count} unexpected row(s)"
        else:
            what = f"observed {self.observed_value!r}"
        return f"{self.expectation}{col}: {what}"


@dataclass
class ValidationOutcome:
    suite: str
    asset: str
    partition: str | None
    success: bool
    rows: int
    statistics: dict
    failures: list[Failure]
    validated_at: str
    data_docs: str | None = None  # the HTML page of this validation
    data_docs_index: str | None = None
    summary_path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def failing_ids(self, limit: int = 20) -> list[str]:
        """Up to ``limit`` distinct failing row ids across all failed expectations, in order."""
        out: list[str] = []
        for f in self.failures:
            for i in f.failing_ids:
                if i not in out:
                    out.append(i)
                if len(out) >= limit:
                    return out
        return out

    def headline(self) -> str:
        if self.success:
            s = self.statistics
            return f"{self.suite}: all {s.get('evaluated_expectations', '?')} expectations passed on {self.rows} rows"
        return f"{self.suite}: {len(self.failures)} expectation(s) failed: " + "; ".join(
            f.headline() for f in self.failures[:5]
        )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["failed_expectations"] = [f.expectation for f in self.failures]
        return d


# --------------------------------------------------------------------------- conversion
def to_pandas(df: pl.DataFrame, exact_types: set[str] | frozenset[str] = frozenset()):
    """A pandas frame that GE checks fast and whose dtypes tell the truth.

    - strings: pandas ``str`` (Arrow-backed: lengths, regexes and sets run vectorized);
    - floats: numpy ``float64`` (null becomes NaN, which GE treats as missing);
    - integers: numpy ``int64``; with nulls, pandas ``Int64`` when the column's type is
      checked (``exact_types``), else ``float64`` so GE's range check stays vectorized
      (GE compares Arrow-backed and masked numbers one Python value at a time);
    - booleans: numpy ``bool`` (pandas ``boolean`` with nulls); timestamps
      ``datetime64[us, UTC]``; lists Arrow-backed;
    - every column in one chunk (see below).
    """
    import pandas as pd

    out = {}
    for name in df.columns:
        # one chunk per column: GE filters the frame per expectation, and pyarrow's take on a
        # many-chunk string column concatenates the chunks (copies the text) every time
        s = df.get_column(name).rechunk()
        dt = s.dtype
        nulls = s.null_count() > 0
        if dt.is_float():
            out[name] = s.cast(pl.Float64).to_numpy()
        elif dt.is_integer():
            if not nulls:
                out[name] = s.cast(pl.Int64).to_numpy()
            elif name in exact_types:
                out[name] = pd.array(s.cast(pl.Int64).to_list(), dtype="Int64")
            else:
                out[name] = s.cast(pl.Float64).to_numpy()
        elif dt == pl.Boolean:
            out[name] = s.to_numpy() if not nulls else pd.array(s.to_list(), dtype="boolean")
        elif isinstance(dt, (pl.List, pl.Array, pl.Struct)):
            out[name] = pd.Series(s.to_arrow(), dtype=pd.ArrowDtype(s.to_arrow().type))
        else:  # strings, timestamps, dates: pyarrow's own conversion
            out[name] = s.to_frame().to_arrow(compat_level=pl.CompatLevel.oldest()).to_pandas()[name]
    frame = pd.DataFrame(out, copy=False)
    frame.index = pd.RangeIndex(df.height)
    return frame


def prepare(frame: pl.LazyFrame | pl.DataFrame, spec: SuiteSpec, *, table: str) -> pl.DataFrame:
    """The columns the suite reads (plus derived ones), collected."""
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    try:
        schema = lf.collect_schema()
    except Exception as exc:  # unreadable file, bad schema
        raise ValidationInputError(f"{table}: cannot read the table to validate: {exc}") from exc
    names = schema.names()
    derived = {k: e for k, e in spec.derived.items() if _refs_ok(e, names)}
    cols = [c for c in spec.columns(names + list(derived)) if c not in derived]
    # a type-only string column goes in empty (its type and nulls are what the suite checks)
    read = [pl.col(c).str.slice(0, 0) if c in spec.type_only and schema[c] == pl.String else pl.col(c) for c in cols]
    return lf.select(*read, *[e.alias(k) for k, e in derived.items()]).collect(engine="streaming")


def _refs_ok(expr: pl.Expr, names: list[str]) -> bool:
    try:
        return all(c in names for c in expr.meta.root_names())
    except Exception:
        return False


# --------------------------------------------------------------------------- GE context
def _quiet_gx() -> None:
    quiet_great_expectations()
    for name in ("great_expectations", "great_expectations.render", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _context(results_dir: Path | None, site_dir: Path | None, keep: int = KEEP_RESULTS):
    """An ephemeral GE context; with a site, validation results persist so the index lists past runs."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    config = DataContextConfig(store_backend_defaults=defaults, progress_bars=ProgressBarsConfig(globally=False))
    if results_dir is not None and site_dir is not None:
        config.stores[config.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(results_dir),
        }
        config.data_docs_sites = {
            SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": keep},
            }
        }
    return gx.get_context(mode="ephemeral", project_config=config)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (concurrent partitions share one site per asset)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prune_results(results_dir: Path, keep: int) -> None:
    files = sorted(results_dir.rglob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)


# --------------------------------------------------------------------------- run
def validate(
    frame: pl.LazyFrame | pl.DataFrame,
    spec: SuiteSpec,
    *,
    asset: str,
    partition: str | None = None,
    root: Path | None = None,
    run_name: str | None = None,
    max_ids: int = 20,
    data_docs: bool = True,
    keep_runs: int = KEEP_RESULTS,
    static_dir: Path | None = None,
) -> ValidationOutcome:
    """Validate ``frame`` against ``spec``; with ``root``, render Data Docs and write the summary.

    ``root`` is the validation folder (the store's ``validation``); without it nothing
    is written (unit tests, the benchmark's engine-only phase). ``static_dir`` holds the
    Data Docs' CSS and JavaScript (``winnow.data_docs_static``), so the pages render offline.
    """
    watch = Stopwatch()
    lap = watch.lap

    table = f"{asset}" + (f" partition {partition}" if partition else "")
    df = prepare(frame, spec, table=table)
    lap("collect")
    pdf = to_pandas(df, spec.type_checked())
    rows = df.height
    id_col = next((c for c in spec.id_columns if c in df.columns), None)
    ids = df.get_column(id_col) if id_col else None
    del df
    lap("to_pandas")

    import great_expectations as gx

    lap("import_gx")
    docs = data_docs and root is not None
    results_dir = site_dir = None
    if docs:
        results_dir = root / "gx_results" / asset
        site_dir = root / "data_docs" / asset
    ctx = _context(results_dir, site_dir, keep_runs)
    suite = ctx.suites.add(build_suite(spec))
    batch_def = (
        ctx.data_sources.add_pandas("winnow")
        .add_dataframe_asset(asset)
        .add_batch_definition_whole_dataframe(_safe(partition or "all"))
    )
    vd = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=f"{asset}-{partition or 'all'}", data=batch_def, suite=suite)
    )
    now = datetime.now(UTC)
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = RunIdentifier(run_name=_safe(run_name or (partition or "all")), run_time=now)
    lap("context")
    # SUMMARY: counts, up to max_ids unexpected values and the positions of the first
    # failing rows. Not ``unexpected_index_column_names``: GE would look each failing row's
    # id up one by one (seconds per 100k failing rows); positions are named from ``ids``.
    result = vd.run(
        batch_parameters={"dataframe": pdf},
        run_id=run_id,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": max_ids,
            "return_unexpected_index_query": False,
        },
    )
    del pdf
    lap("validate")

    outcome = ValidationOutcome(
        suite=spec.name,
        asset=asset,
        partition=partition,
        success=bool(result.success),
        rows=rows,
        statistics={k: (float(v) if isinstance(v, float) else v) for k, v in result.statistics.items()},
        failures=summarize(result, spec, max_ids, ids=ids),
        validated_at=now.isoformat(timespec="seconds"),
    )
    if docs:
        with _locked(site_dir.parent / f".{asset}.lock"):
            _prune_results(results_dir, keep_runs)
            keys = ctx.validation_results_store.list_keys()
            mine = [k for k in keys if k.run_id.run_time == run_id.run_time and k.run_id.run_name == run_id.run_name]
            ctx.build_data_docs(site_names=[SITE], resource_identifiers=mine or None)
            urls = ctx.get_docs_sites_urls(resource_identifier=mine[0] if mine else None, site_name=SITE)
            localize(site_dir, static_dir)
        page = urls[0]["site_url"] if urls else None
        outcome.data_docs = _file_path(page)
        outcome.data_docs_index = str(site_dir / "index.html")
        lap("data_docs")
    if root is not None:
        outcome.timings = watch.total()
        outcome.summary_path = str(write_summary(outcome, root))
        lap("summary")
    outcome.timings = watch.total()
    return outcome


def _file_path(url: str | None) -> str | None:
    if not url:
        return None
    return url[len("file://") :] if url.startswith("file://") else url


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return str(v)


def _is_int(v: Any) -> bool:
    try:
        import numpy as np

        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)
    except ImportError:  # pragma: no cover
        return isinstance(v, int)


def _is_na(v: Any) -> bool:
    try:
        import pandas as pd

        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def summarize(result, spec: SuiteSpec, max_ids: int = 20, ids: pl.Series | None = None) -> list[Failure]:
    """The failed expectations of a GE result, each with its column and failing ids.

    ``ids``: the id column (``spec.id_columns[0]``) of the validated frame, in row order;
    GE reports the first failing rows by position and they are named from it.
    """
    failures: list[Failure] = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        col = kwargs.get("column")
        if col is None and "column_A" in kwargs:
            col = f"{kwargs['column_A']}, {kwargs['column_B']}"
        if col is None and "column_list" in kwargs:
            col = ", ".join(kwargs["column_list"])
        res = r.result or {}
        names: list[str] = []
        for pos in res.get("partial_unexpected_index_list") or []:
            if ids is None or not _is_int(pos) or not 0 <= int(pos) < len(ids):
                continue
            v = ids[int(pos)]
            s = f"<null id at row {int(pos)}>" if v is None else str(v)
            if s not in names:
                names.append(s)
            if len(names) >= max_ids:
                break
        samples = ["<null>" if _is_na(v) else str(v)[:200] for v in (res.get("partial_unexpected_list") or [])]
        exc = None
        info = r.exception_info or {}
        if info.get("raised_exception"):
            exc = str(info.get("exception_message") or "exception")[:500]
        failures.append(
            Failure(
                expectation=cfg.type,
                column=col,
                description=cfg.description or "",
                unexpected_count=res.get("unexpected_count"),
                unexpected_percent=(
                    round(float(res["unexpected_percent"]), 4) if res.get("unexpected_percent") is not None else None
                ),
                failing_ids=names,
                sample_values=samples[:max_ids],
                observed_value=_jsonable(res.get("observed_value")),
                exception=exc,
            )
        )
    return failures


# --------------------------------------------------------------------------- summaries
def summary_path(root: Path, asset: str, partition: str | None) -> Path:
    """``<root>/<asset>/<partition>.json`` (``__all__.json`` when unpartitioned)."""
    return Path(root) / asset / f"{partition or '__all__'}.json"


def write_summary(outcome: ValidationOutcome, root: Path) -> Path:
    """Write the summary atomically (publishing reads it into the release manifest)."""
    path = summary_path(root, outcome.asset, outcome.partition)
    d = outcome.as_dict()
    d["summary_path"] = str(path)
    write_text_atomic(path, json.dumps(_jsonable(d), indent=2, sort_keys=True) + "\n")
    return path


# --------------------------------------------------------------------------- manifest
def manifest_frame(release_dir: Path) -> tuple[dict, pl.DataFrame]:
    """The release manifest and its shards' facts (``winnow.publish.release.manifest_frame``)."""
    from winnow.publish.release import ManifestError
    from winnow.publish.release import manifest_frame as read_manifest_frame

    try:
        return read_manifest_frame(release_dir)
    except ManifestError as exc:
        raise ValidationInputError(str(exc)) from None


def failures_table(outcome: ValidationOutcome) -> pl.DataFrame:
    """One row per failed expectation: its column, how many rows failed, some failing ids and the rule."""

    def ids(found: list[str], n: int = 5) -> str:
        shown = ", ".join(f"`{i}`" for i in found[:n])
        return shown + (f" (+{len(found) - n})" if len(found) > n else "")

    return pl.DataFrame(
        [
            {
                "expectation": f.expectation,
                "column": f.column or "(table)",
                "unexpected": str(f.unexpected_count)
                if f.unexpected_count is not None
                else ("error" if f.exception else str(f.observed_value)[:60]),
                "failing_ids": ids(f.failing_ids),
                "rule": (f.exception or f.description)[:160],
            }
            for f in outcome.failures
        ],
        schema={
            "expectation": pl.String,
            "column": pl.String,
            "unexpected": pl.String,
            "failing_ids": pl.String,
            "rule": pl.String,
        },
    )
