"""Validation benchmark: Great Expectations gates on 1,000,000 curated documents.

Data: ``bench.validation.data`` (1M documents cut from the real bench corpus, 1.1 GB of
text, with the columns ``curated_documents`` has: canonical, signals, content_hash,
quality_score). Each case runs in its own niced subprocess, one after another, so the
GE import is counted and peak RSS is the case's own:

- ``winnow_pass``: the ``curated_documents`` gate as the asset check runs it
  (``winnow.validation.validate``: projection, conversion, GE pass 1, Data Docs, JSON
  summary) on a clean night; every phase timed.
- ``winnow_raw``: the ``raw_documents`` gate on the same rows.
- ``winnow_fail``: a bad night: 13% of documents in a language the recipe does not
  allow, 1,000 scores out of [0, 1], 50 duplicated doc_ids: pass 1 plus the
  failing-rows pass that names the first doc_ids.
- ``gx_default`` / ``gx_default_fail`` (reference): Great Expectations used the way its
  docs show: the whole table ``to_pandas()``, the same suite, result format SUMMARY with
  ``unexpected_index_column_names=["doc_id"]`` (how GE names failing ids), on the clean
  and on the bad night.
- ``polars_floor``: the same rules as one polars aggregation, without GE: what the
  checks cost at the least.

    python -m bench.validation.run [--docs 1000000] [--skip-reference]

Prints a table with the ratios and writes ``.winnow/bench/validation/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import summary_markdown, write_results

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".winnow" / "bench" / "validation"
NIGHT = "2026-11-24"
BAD_LANG_KEEP = ["en", "de", "fr", "es", "it", "pt", "ja", "zh"]


def _recipe(allowed: list[str]):
    from schemas.recipe import Recipe

    return Recipe.model_validate(
        {
            "name": "bench",
            "version": 1,
            "sources": [{"name": "bench", "path": "x", "format": "jsonl"}],
            "filters": {"language": {"allowed": allowed}},
        }
    )


def _langs(path: Path) -> list[str]:
    import polars as pl

    return sorted(
        pl.scan_parquet(path).select(pl.col("lang_detected").drop_nulls().unique()).collect().to_series().to_list()
    )


def _bad(lf):
    """A bad night: out-of-range scores and duplicated doc_ids (languages fail through the recipe)."""
    import polars as pl

    i = pl.int_range(pl.len())
    return lf.with_columns(
        quality_score=pl.when(i % 1000 == 7).then(1.5).otherwise("quality_score"),
        doc_id=pl.when(i % 20000 == 11).then(pl.lit("bench-dup")).otherwise("doc_id"),
    )


# --------------------------------------------------------------------------- cases
def case_winnow(path: Path, kind: str) -> dict:
    import polars as pl

    from schemas.expectations import curated_documents_spec, raw_documents_spec
    from winnow.validation import validate

    lf = pl.scan_parquet(path)
    if kind == "raw":
        recipe = _recipe(_langs(path))
        spec = raw_documents_spec(recipe)
        asset = "raw_documents"
    elif kind == "pass":
        recipe = _recipe(_langs(path))
        spec = curated_documents_spec(recipe, dict(lf.collect_schema()))
        asset = "curated_documents"
    else:
        recipe = _recipe(BAD_LANG_KEEP)
        lf = _bad(lf)
        spec = curated_documents_spec(recipe, dict(lf.collect_schema()))
        asset = "curated_documents"
    out = validate(
        lf,
        spec,
        asset=asset,
        partition=NIGHT,
        root=WORK / "home" / "validation",
        run_name=f"{NIGHT}__bench_{kind}",
        max_ids=recipe.validation.max_failing_ids,
    )
    return {
        "success": out.success,
        "rows": out.rows,
        "expectations": out.statistics.get("evaluated_expectations"),
        "failed": [f"{f.expectation}[{f.column}]: {f.unexpected_count}" for f in out.failures],
        "first_failing_ids": out.failing_ids(5),
        "phases_s": out.timings,
        "wall_s": out.timings["total"],
        "data_docs": out.data_docs,
    }


def case_gx_default(path: Path, bad: bool = False) -> dict:
    """Reference: GE as documented: whole frame to pandas, SUMMARY with id columns."""
    t0 = time.perf_counter()
    import polars as pl

    from schemas.expectations import build_suite, curated_documents_spec

    lf = pl.scan_parquet(path)
    if bad:
        lf = _bad(lf)
    spec = curated_documents_spec(_recipe(BAD_LANG_KEEP if bad else _langs(path)), dict(lf.collect_schema()))
    t = time.perf_counter()
    df = lf.collect()
    phases = {"collect": time.perf_counter() - t}
    t = time.perf_counter()
    pdf = df.to_pandas()
    del df
    phases["to_pandas"] = time.perf_counter() - t
    t = time.perf_counter()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    phases["import_gx"] = time.perf_counter() - t
    t = time.perf_counter()
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = ctx.suites.add(build_suite(spec))
    batch = (
        ctx.data_sources.add_pandas("p")
        .add_dataframe_asset("curated_documents")
        .add_batch_definition_whole_dataframe("night")
        .get_batch(batch_parameters={"dataframe": pdf})
    )
    res = batch.validate(
        suite,
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": ["doc_id"],
            "partial_unexpected_count": 20,
        },
    )
    phases["validate"] = time.perf_counter() - t
    wall = time.perf_counter() - t0
    return {
        "success": bool(res.success),
        "rows": len(pdf),
        "expectations": res.statistics["evaluated_expectations"],
        "failed": [
            f"{r.expectation_config.type}[{r.expectation_config.kwargs.get('column')}]"
            for r in res.results
            if not r.success
        ],
        "phases_s": {k: round(v, 3) for k, v in phases.items()},
        "wall_s": round(wall, 3),
    }


def case_polars_floor(path: Path) -> dict:
    """The curated rules as one polars aggregation (no GE, no Data Docs, no ids)."""
    t0 = time.perf_counter()
    import polars as pl

    from schemas.expectations import curated_documents_spec

    lf = pl.scan_parquet(path)
    spec = curated_documents_spec(_recipe(_langs(path)), dict(lf.collect_schema()))
    schema = lf.collect_schema()
    aggs = []
    for i, r in enumerate(spec.rules):
        k, name = r.kwargs, f"r{i}"
        col = pl.col(k["column"]) if "column" in k else None
        if r.expectation == "ExpectColumnValuesToNotBeNull":
            aggs.append(col.null_count().alias(name))
        elif r.expectation == "ExpectColumnValuesToBeUnique":
            aggs.append((col.drop_nulls().len() - col.drop_nulls().n_unique()).alias(name))
        elif r.expectation == "ExpectColumnValueLengthsToBeBetween":
            n = col.str.len_chars()
            aggs.append(((n < k["min_value"]) | (n > k["max_value"])).sum().alias(name))
        elif r.expectation == "ExpectColumnValuesToBeBetween":
            bad = col < k["min_value"]
            if k.get("max_value") is not None:
                bad = bad | (col > k["max_value"])
            aggs.append(bad.sum().alias(name))
        elif r.expectation == "ExpectColumnValuesToBeInSet":
            aggs.append((~col.is_in(k["value_set"]) & col.is_not_null()).sum().alias(name))
    t = time.perf_counter()
    counts = lf.select(aggs).collect().row(0)
    typed = all(c in schema for c in spec.rules[0].kwargs["column_set"])
    validate_s = time.perf_counter() - t
    return {
        "success": typed and not any(counts),
        "rows": None,
        "expectations": len(aggs),
        "phases_s": {"scan_and_check": round(validate_s, 3)},
        "wall_s": round(time.perf_counter() - t0, 3),
    }


CASES = {
    "winnow_pass": lambda p: case_winnow(p, "pass"),
    "winnow_raw": lambda p: case_winnow(p, "raw"),
    "winnow_fail": lambda p: case_winnow(p, "fail"),
    "gx_default": case_gx_default,
    "gx_default_fail": lambda p: case_gx_default(p, bad=True),
    "polars_floor": case_polars_floor,
}


def _peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: reset at exec, unlike ru_maxrss which a child inherits)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(case: str, path: Path) -> None:
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    out = CASES[case](path)
    out["peak_rss_mib"] = _peak_rss_mib()
    print("RESULT " + json.dumps(out))


def _spawn(case: str, path: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["nice", "-n", "10", sys.executable, "-m", "bench.validation.run", "--case", case, "--data", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    process_s = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"case {case} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    out = json.loads(lines[-1][len("RESULT ") :])
    out["process_s"] = round(process_s, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--skip-reference", action="store_true", help="skip gx_default (slow)")
    ap.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        _child(args.case, args.data)
        return

    from bench.validation.data import build

    t = time.perf_counter()
    path = build(args.docs)
    print(f"data: {path} ({path.stat().st_size / 2**20:.0f} MiB, ready in {time.perf_counter() - t:.1f} s)")
    stats = json.loads((path.parent / f"curated_{args.docs}.stats.json").read_text())
    cases = ["winnow_pass", "winnow_raw", "winnow_fail", "polars_floor"] + (
        [] if args.skip_reference else ["gx_default", "gx_default_fail"]
    )
    results = {}
    for case in cases:
        print(f"running {case} ...", flush=True)
        results[case] = _spawn(case, path)
        r = results[case]
        print(
            f"  {case}: wall {r['wall_s']:.1f} s (process {r['process_s']:.1f} s), peak RSS "
            f"{r['peak_rss_mib']:.0f} MiB, success={r['success']}, phases {r['phases_s']}",
            flush=True,
        )

    ours = results["winnow_pass"]["wall_s"]
    print()
    print(f"{'case':<14} {'wall s':>8} {'process s':>10} {'RSS MiB':>8} {'vs winnow_pass':>15}  result")
    for case, r in results.items():
        ratio = r["wall_s"] / ours if ours else float("nan")
        verdict = "pass" if r["success"] else f"fail ({len(r.get('failed', []))} expectations)"
        print(
            f"{case:<14} {r['wall_s']:>8.1f} {r['process_s']:>10.1f} {r['peak_rss_mib']:>8.0f} {ratio:>14.2f}x  "
            f"{verdict}"
        )
    if "gx_default" in results:
        print(
            f"\nGE as documented / winnow gate, clean night: {results['gx_default']['wall_s'] / ours:.1f}x "
            f"(validate phase: {results['gx_default']['phases_s']['validate']:.1f} s vs "
            f"{results['winnow_pass']['phases_s']['validate']:.1f} s)"
        )
        fail = results["winnow_fail"]["wall_s"]
        print(f"GE as documented / winnow gate, bad night: {results['gx_default_fail']['wall_s'] / fail:.1f}x")
    print(f"winnow gate / polars floor: {ours / results['polars_floor']['wall_s']:.1f}x")
    budget = "OK" if results["winnow_pass"]["process_s"] < 60 else "OVER BUDGET"
    print(
        f"1M-document gate (whole process incl. interpreter and GE import): "
        f"{results['winnow_pass']['process_s']:.1f} s < 60 s: {budget}"
    )
    out = {"docs": args.docs, "data": stats, "cpu_count": os.cpu_count(), "results": results}
    (WORK / "results.json").write_text(json.dumps(out, indent=1))
    write_results("validation", out, summary_markdown({"documents": args.docs, **results}))
    print(f"written {WORK / 'results.json'}")


if __name__ == "__main__":
    main()
