"""Launch a job of the code location from the shell, on the persistent Dagster instance.

    python -m pipelines.launch nightly_curation --partition 2026-11-24
    python -m pipelines.launch annotation_pull
    python -m pipelines.launch validate

The pinned Dagster (1.13.27) marks ``dagster job execute`` as superseded by ``dg launch``,
and no ``dagster-dg-cli`` release matches that Dagster. This launcher calls the same
public API those commands call (``execute_job`` on a reconstructable job, with the
job's own multiprocess executor), so a run appears in the UI like any other and prints
no supersession warnings.
"""

from __future__ import annotations

import argparse
import sys

import dagster as dg


def _job(name: str):
    from pipelines.definitions import defs

    return defs.resolve_job_def(name)


def nightly_curation():
    return _job("nightly_curation")


def annotation_pull():
    return _job("annotation_pull")


JOBS = {"nightly_curation": nightly_curation, "annotation_pull": annotation_pull}


def launch(job: str, partition: str | None = None) -> bool:
    tags = {"dagster/partition": partition} if partition else {}
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(dg.reconstructable(JOBS[job]), instance=instance, tags=tags)
        print(
            f"{job}{f' [{partition}]' if partition else ''}: run {result.run_id} "
            f"{'succeeded' if result.success else 'FAILED'}"
        )
        return result.success


def validate() -> bool:
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    print("pipelines.definitions: definitions load and validate")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.launch")
    ap.add_argument("job", choices=[*JOBS, "validate"])
    ap.add_argument("--partition", help="the night (YYYY-MM-DD) for a partitioned job")
    args = ap.parse_args(argv)
    if args.job == "validate":
        return 0 if validate() else 1
    if args.job == "nightly_curation" and not args.partition:
        ap.error("nightly_curation runs one night: give --partition YYYY-MM-DD")
    return 0 if launch(args.job, args.partition) else 1


if __name__ == "__main__":
    sys.exit(main())
