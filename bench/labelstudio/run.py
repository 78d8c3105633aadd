"""Label Studio benchmark: start-up, import throughput and pull time, against plain-SDK references.

In one run, on one real Label Studio started by ``scripts/labelstudio.sh`` (its own
throwaway WINNOW_HOME under .winnow/bench/):

* start-up: cold (first start: migrations, admin user, token) and warm (restart) seconds
  until /health answers;
* import of N tasks (default 10,000, real documents from the bench corpus): Winnow's
  push (validated payloads, pre-annotations, ledger, batches of 1,000, overlap flags)
  against the reference, one plain ``projects.import_tasks`` call of the same tasks;
* pull: Winnow's first pull and an incremental pull (10 annotations updated) against
  the reference naive pull, listing every task with ``fields="all"``.

    python -m bench.labelstudio.run [--tasks 10000] [--annotate 1000] [--no-restart]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from bench.harness import summary_markdown, write_results

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from winnow.annotation.labelstudio import LabelStudioClient  # noqa: E402
from winnow.annotation.ledger import Ledger, ledger_path  # noqa: E402
from winnow.annotation.pull import pull_annotations  # noqa: E402
from winnow.annotation.push import push_sample  # noqa: E402
from winnow.annotation.tasks import format_tasks, instructions_html, label_config  # noqa: E402

CORPUS = REPO / ".winnow" / "bench" / "corpus.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script(env: dict, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["bash", str(REPO / "scripts" / "labelstudio.sh"), *args], env=env, check=True, timeout=1800)
    return time.perf_counter() - t0


def load_docs(n: int, seed: int = 0) -> pl.DataFrame:
    """n real documents (bench corpus if built, else the bundled sample) as sample rows."""
    if CORPUS.exists():
        df = pl.read_ndjson(
            CORPUS, n_rows=n, schema={"id": pl.String, "text": pl.String, "url": pl.String, "lang": pl.String}
        )
        origin = str(CORPUS.relative_to(REPO))
    else:
        files = sorted((REPO / "data" / "sample").glob("*/web.jsonl.gz"))
        df = pl.concat(
            [pl.read_ndjson(f).select(pl.col("id").cast(pl.String), "text", "url", "lang") for f in files]
        ).head(n)
        origin = "data/sample (bench corpus not built)"
    rng = random.Random(seed)
    k = df.height
    scores = [rng.random() for _ in range(k)]
    rows = (
        df.select(
            doc_id=pl.concat_str([pl.lit("bench:"), pl.col("id")]),
            text=pl.col("text"),
            url=pl.col("url"),
            sample_lang=pl.col("lang").fill_null("und"),
            partition=pl.lit("2026-11-24"),
            source=pl.lit("bench"),
        )
        .with_columns(
            quality_score=pl.Series(scores),
            inclusion_prob=pl.lit(0.02),
            sample_kind=pl.lit("random"),
            overlap=pl.Series([rng.random() < 0.2 for _ in range(k)]),
            status=pl.lit("kept"),
            score_source=pl.lit("bench"),
        )
        .with_columns(stratum=pl.concat_str([pl.lit("kept:bench:"), pl.col("sample_lang")]))
    )
    print(f"documents: {rows.height} from {origin}, {rows['text'].str.len_bytes().sum() / 2**20:.1f} MiB of text")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--annotate", type=int, default=1_000)
    ap.add_argument("--no-restart", action="store_true", help="skip the warm restart measurement")
    args = ap.parse_args()

    home = REPO / ".winnow" / "bench" / "labelstudio-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINNOW_LS_", "WINNOW_LABEL_STUDIO"))}
    env.update(WINNOW_HOME=str(home), WINNOW_LS_PORT=str(free_port()))
    script(env, "install")
    figures: dict[str, float] = {}
    try:
        figures["startup_cold_s"] = script(env, "start")
        if not args.no_restart:
            script(env, "stop")
            figures["startup_warm_s"] = script(env, "start")
        cred = dict(line.split("=", 1) for line in (home / "labelstudio" / "credentials.env").read_text().splitlines())
        client = LabelStudioClient(cred["WINNOW_LS_URL"], cred["WINNOW_LS_TOKEN"], timeout_s=600)
        rows = load_docs(args.tasks)
        n = rows.height

        # reference: the SDK's own bulk import, one request, same payloads
        ref_pid = client.ensure_project("bench reference import", label_config())
        tasks = format_tasks(rows)
        t0 = time.perf_counter()
        ids = client.sdk.projects.import_tasks(id=ref_pid, request=tasks, return_task_ids=True).task_ids
        figures["ref_import_s"] = time.perf_counter() - t0
        assert len(ids) == n

        # Winnow: push with ledger, batches, validation, overlap
        pid = client.ensure_project("bench winnow push", label_config(), instructions_html())
        ledger = Ledger(ledger_path(home, client.url, pid))
        t0 = time.perf_counter()
        res = push_sample(client, pid, rows, ledger, batch_size=1000)
        figures["winnow_import_s"] = time.perf_counter() - t0
        assert res.imported == n
        figures["winnow_import_only_s"] = res.import_seconds
        figures["winnow_overlap_s"] = res.overlap_seconds
        figures["overlap_tasks"] = res.overlap_tasks
        t0 = time.perf_counter()
        again = push_sample(client, pid, rows, ledger, batch_size=1000)
        figures["winnow_rerun_s"] = time.perf_counter() - t0
        assert again.imported == 0

        # annotate some tasks through the API (as the admin: the submit path, not the UI)
        m = min(args.annotate, n)
        rng = random.Random(1)
        t0 = time.perf_counter()
        ann_ids = []
        for tid in res.task_ids[:m]:
            d = rng.choice(["keep", "drop"])
            a = client.sdk.annotations.create(
                id=tid,
                result=[
                    {"from_name": "decision", "to_name": "text", "type": "choices", "value": {"choices": [d]}},
                    {
                        "from_name": "rating",
                        "to_name": "text",
                        "type": "rating",
                        "value": {"rating": rng.randint(1, 5)},
                    },
                ],
                lead_time=3.0,
            )
            ann_ids.append(a.id)
        figures["annotate_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        table, stats = pull_annotations(client, pid, None)
        figures["winnow_first_pull_s"] = time.perf_counter() - t0
        assert table.height == m, (table.height, m)
        time.sleep(1.0)
        for aid in ann_ids[:10]:
            client.sdk.annotations.update(
                id=aid,
                result=[
                    {"from_name": "decision", "to_name": "text", "type": "choices", "value": {"choices": ["drop"]}}
                ],
            )
        from datetime import timedelta

        t0 = time.perf_counter()
        table2, stats2 = pull_annotations(client, pid, table, safety_margin=timedelta(0))
        figures["winnow_incremental_pull_s"] = time.perf_counter() - t0
        assert stats2.changed_tasks == 10 and table2.height == m

        # reference: list every task with annotations and predictions (fields="all")
        t0 = time.perf_counter()
        listed = sum(1 for _ in client.sdk.tasks.list(project=pid, fields="all", page_size=1000))
        figures["ref_list_all_s"] = time.perf_counter() - t0
        assert listed == n
        client.close()
    finally:
        script(env, "stop")

    f = figures
    print(f"\nLabel Studio 1.23.2, SQLite, {n} tasks, {m} annotations, {os.cpu_count()} cores")
    print(
        f"start-up (to /health): cold {f['startup_cold_s']:.1f} s"
        + (f", warm restart {f['startup_warm_s']:.1f} s" if "startup_warm_s" in f else "")
    )
    print(f"import  reference SDK single request : {f['ref_import_s']:7.2f} s  {n / f['ref_import_s']:8.0f} tasks/s")
    print(
        f"import  winnow push (1000/batch)     : {f['winnow_import_s']:7.2f} s  {n / f['winnow_import_s']:8.0f} tasks/s"
        f"   ratio winnow/ref time = {f['winnow_import_s'] / f['ref_import_s']:.2f}"
    )
    print(
        f"        of which import requests     : {f['winnow_import_only_s']:7.2f} s, overlap PATCHes "
        f"({f['overlap_tasks']:.0f} tasks, 4 at a time): {f['winnow_overlap_s']:.2f} s"
    )
    print(f"rerun   winnow push (nothing to send): {f['winnow_rerun_s']:7.2f} s")
    print(f"annotate via API ({m} submits)       : {f['annotate_s']:7.2f} s  {m / f['annotate_s']:8.1f} annotations/s")
    print(f"pull    reference list all fields=all: {f['ref_list_all_s']:7.2f} s")
    print(
        f"pull    winnow first pull            : {f['winnow_first_pull_s']:7.2f} s"
        f"   ratio winnow/ref = {f['winnow_first_pull_s'] / f['ref_list_all_s']:.3f}"
    )
    print(
        f"pull    winnow incremental (10 upd.) : {f['winnow_incremental_pull_s']:7.2f} s"
        f"   ratio winnow/ref = {f['winnow_incremental_pull_s'] / f['ref_list_all_s']:.4f}"
    )
    out = home.parent / "labelstudio-results.json"
    out.write_text(json.dumps({"tasks": n, "annotations": m, **f}, indent=1))
    figures = {"tasks": n, "annotations": m, **f}
    write_results("labelstudio", figures, summary_markdown(figures))
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
