"""The annotation loop against a real Label Studio started by scripts/labelstudio.sh.

push (Dagster) -> two scripted annotators label through the API with their own accounts
-> the sensor sees it -> `annotations` parses it -> `annotator_agreement` computes it;
an update replaces the older label; reruns and a crash mid-import leave no duplicates;
a stopped server gives an error that says what to start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import httpx
import polars as pl
import pytest

from tests.integration.ls_server import server_settings, write_recipe
from tests.resources import resources_for

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio]

P = "2026-11-24"


def _scored(home: Path, n: int = 1500, partition: str = P, prefix: str = "web") -> int:
    """A scored_documents table for one night, stored where the IO manager reads it."""
    langs = ["en", "de", "fr", "zh", None]
    rows = []
    for i in range(n):
        rejected = i % 5 == 0
        rows.append(
            {
                "doc_id": f"{prefix}:{partition}:{i}",
                "source": "web" if i % 3 else "docs",
                "lang": langs[i % 5],
                "lang_detected": langs[i % 5],
                "partition": partition,
                "text": f"Original text {i} with jane@example.org",
                "text_redacted": f"Document {i}: text with <EMAIL>.",
                "status": "rejected" if rejected else "kept",
                "drop_reason": "gopher_short_doc" if rejected else None,
                "quality_score": (0.2 if rejected else 0.8) + (i % 7) * 0.02,
                "score_source": "heuristic",
            }
        )
    path = home / "storage" / "scored_documents" / f"{partition}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, infer_schema_length=None).write_parquet(path)
    return n


def _resources(recipe: Path, server) -> dict:
    return resources_for(recipe, recipe.parent / "releases", label_studio=server_settings(server))


def _push(recipe: Path, server, partition: str = P, instance: dg.DagsterInstance | None = None):
    from pipelines.definitions import all_assets

    return dg.materialize(
        all_assets,
        selection=["annotation_sample", "label_studio_tasks"],
        partition_key=partition,
        resources=_resources(recipe, server),
        instance=instance,
    )


def _meta(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    mats = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mats[-1].metadata.items()}


def _project_tasks(server, title: str) -> list[dict]:
    from winnow.annotation.labelstudio import LabelStudioClient

    c = LabelStudioClient(server.url, server.token)
    pid = c.find_project(title)
    tasks = list(c.iter_tasks(pid, include="id,data,overlap,total_annotations"))
    c.close()
    return tasks


def _label_queue(server, title: str, email: str, decide) -> list[int]:
    """A person at work: sign up, then take the project's next task and submit, until none is left."""
    from winnow.annotation.accounts import ensure_annotator
    from winnow.annotation.labelstudio import LabelStudioClient

    _, token = ensure_annotator(server.url, server.token, email, store=server.data / "annotators.env")
    me = LabelStudioClient(server.url, token)
    pid = me.find_project(title)
    done = []
    for _ in range(500):
        r = me._http.get(f"/api/projects/{pid}/next/")
        if r.status_code != 200 or not r.json().get("id"):
            break
        task = r.json()
        decision, rating, tags = decide(task["data"])
        result = [
            {"from_name": "decision", "to_name": "text", "type": "choices", "value": {"choices": [decision]}},
            {"from_name": "rating", "to_name": "text", "type": "rating", "value": {"rating": rating}},
        ]
        if tags:
            result.append({"from_name": "tags", "to_name": "text", "type": "choices", "value": {"choices": tags}})
        me.sdk.annotations.create(id=task["id"], result=result, lead_time=4.2)
        done.append(task["id"])
    me.close()
    return done


def _sensor_tick(recipe: Path, server, cursor: str | None):
    from pipelines.sensors import label_studio_annotations

    instance = dg.DagsterInstance.ephemeral()
    res = _resources(recipe, server)
    with dg.build_sensor_context(
        cursor=cursor, instance=instance, resources={"recipe": res["recipe"], "label_studio": res["label_studio"]}
    ) as ctx:
        out = label_studio_annotations(ctx)
        return out, ctx.cursor


def test_round_trip_push_label_sense_pull_agree(tmp_path, winnow_home, ls_server):
    title = "Winnow IT round trip"
    recipe = write_recipe(tmp_path / "recipe.yaml", title)
    _scored(winnow_home)

    # nothing labelled yet: the sensor skips, it does not fail
    out, cursor = _sensor_tick(recipe, ls_server, None)
    assert isinstance(out, dg.SkipReason) and cursor is None

    pushed = _push(recipe, ls_server)
    assert pushed.success
    sample = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{P}.parquet")
    meta = _meta(pushed, "label_studio_tasks")
    assert meta["imported"] == sample.height and meta["already_sent"] == 0
    assert meta["batches"] == -(-sample.height // 10)
    assert ls_server.token not in json.dumps({k: str(v) for k, v in meta.items()})
    assert not [e for e in pushed.all_events if ls_server.token in str(e)]  # nor in any Dagster event
    assert ls_server.token not in (ls_server.data / "labelstudio.log").read_text(errors="replace")
    tasks = _project_tasks(ls_server, title)
    assert sorted(t["data"]["doc_id"] for t in tasks) == sorted(sample["doc_id"].to_list())
    n_overlap = int(sample["overlap"].sum())
    assert sum(t["overlap"] == 2 for t in tasks) == n_overlap > 0
    kinds = dict(zip(sample["doc_id"], sample["sample_kind"]))
    blind = [t for t in tasks if kinds[t["data"]["doc_id"]] != "active"]
    one = blind[0]
    assert one["data"]["text"].startswith("Document") and "<EMAIL>" in one["data"]["text"]  # redacted text only
    assert not any(t.get("predictions") or "stratum" in t["data"] or "quality_score" in t["data"] for t in blind)
    active = next(t for t in tasks if kinds[t["data"]["doc_id"]] == "active")
    assert active["data"]["weight"] == pytest.approx(1 / active["data"]["inclusion_prob"])

    # two annotators; the second disagrees on every third document it sees (they judge by the
    # pipeline's view, looked up here, since blind tasks do not show it)
    seen = {r["doc_id"]: r for r in sample.iter_rows(named=True)}

    def ann1(data):
        row = seen[data["doc_id"]]
        return (
            ("keep" if row["quality_score"] >= 0.5 else "drop"),
            4,
            ["spam/ads"] if row["status"] == "rejected" else [],
        )

    def ann2(data):
        d, r, t = ann1(data)
        flip = int(data["doc_id"].rsplit(":", 1)[1]) % 3 == 0
        return ({"keep": "drop", "drop": "keep"}[d] if flip else d), 3, t

    first = _label_queue(ls_server, title, "ann1@winnow.test", ann1)
    second = _label_queue(ls_server, title, "ann2@winnow.test", ann2)
    assert len(first) == sample.height
    assert len(second) == n_overlap  # Label Studio hands the second annotator exactly the overlap tasks

    out, cursor = _sensor_tick(recipe, ls_server, None)
    assert isinstance(out, dg.RunRequest) and cursor is not None
    out2, cursor2 = _sensor_tick(recipe, ls_server, cursor)
    assert isinstance(out2, dg.SkipReason) and cursor2 == cursor  # nothing new since the cursor

    from pipelines.definitions import all_assets

    pulled = dg.materialize(
        all_assets, selection=["annotations", "annotator_agreement"], resources=_resources(recipe, ls_server)
    )
    assert pulled.success
    ann = pl.read_parquet(winnow_home / "storage" / "annotations" / "__all__.parquet")
    assert ann.height == sample.height + n_overlap
    assert set(ann["annotator"]) == {"ann1@winnow.test", "ann2@winnow.test"}
    joined = ann.join(sample.select("doc_id", "stratum", "inclusion_prob", "sample_kind"), on="doc_id", suffix="_s")
    assert (joined["stratum"] == joined["stratum_s"]).all()
    assert (joined["inclusion_prob"] == joined["inclusion_prob_s"]).all()
    assert set(ann["decision"]) <= {"keep", "drop"} and ann["lead_time_s"].min() == pytest.approx(4.2)
    assert ann.filter(pl.col("tags").list.len() > 0)["tags"].explode().unique().to_list() == ["spam/ads"]

    agreement = pl.read_parquet(winnow_home / "storage" / "annotator_agreement" / "__all__.parquet").row(0, named=True)
    assert agreement["n_overlap_items"] == n_overlap and agreement["n_annotators"] == 2
    from winnow.annotation.agreement import agreement_report

    expected = agreement_report(ann)
    assert agreement["krippendorff_alpha"] == pytest.approx(expected["krippendorff_alpha"])
    assert agreement["cohen_kappa"] == pytest.approx(expected["cohen_kappa"])
    n_flipped = expected["disagreements"].height
    assert n_flipped == sum(int(d.rsplit(":", 1)[1]) % 3 == 0 for d in sample.filter(pl.col("overlap"))["doc_id"])
    checks = pulled.get_asset_check_evaluations()
    assert [c.check_name for c in checks] == ["agreement_alpha_at_least_min"]
    assert checks[0].passed == (expected["krippendorff_alpha"] >= 0.6)

    # an annotator changes their mind: the update replaces the older label on the next pull
    target = ann.filter(pl.col("annotator") == "ann1@winnow.test").row(0, named=True)
    new = {"keep": "drop", "drop": "keep"}[target["decision"]]
    from winnow.annotation.labelstudio import LabelStudioClient

    admin = LabelStudioClient(ls_server.url, ls_server.token)
    admin.sdk.annotations.update(
        id=target["annotation_id"],
        result=[{"from_name": "decision", "to_name": "text", "type": "choices", "value": {"choices": [new]}}],
    )
    admin.close()
    out3, cursor3 = _sensor_tick(recipe, ls_server, cursor)
    assert isinstance(out3, dg.RunRequest) and cursor3 > cursor
    again = dg.materialize(all_assets, selection=["annotations"], resources=_resources(recipe, ls_server))
    assert _meta(again, "annotations")["changed_tasks"] == 1  # incremental: only the updated task
    ann2_df = pl.read_parquet(winnow_home / "storage" / "annotations" / "__all__.parquet")
    assert ann2_df.height == ann.height
    row = ann2_df.filter(pl.col("annotation_id") == target["annotation_id"]).row(0, named=True)
    assert row["decision"] == new and row["updated_at"] > target["updated_at"]


def test_rerun_and_next_night_never_send_twice(tmp_path, winnow_home, ls_server):
    title = "Winnow IT rerun"
    recipe = write_recipe(tmp_path / "recipe.yaml", title)
    _scored(winnow_home, n=600)
    first = _push(recipe, ls_server)
    n = _meta(first, "label_studio_tasks")["imported"]
    assert n > 0
    rerun = _push(recipe, ls_server)
    m = _meta(rerun, "label_studio_tasks")
    assert m["imported"] == 0 and m["already_sent"] == n
    # the next night repeats some documents (a re-crawl): they are not sent again
    nxt = "2026-11-25"
    _scored(winnow_home, n=600, partition=nxt)
    prev = pl.read_parquet(winnow_home / "storage" / "scored_documents" / f"{P}.parquet")
    cur = pl.read_parquet(winnow_home / "storage" / "scored_documents" / f"{nxt}.parquet")
    pl.concat([cur, prev.with_columns(partition=pl.lit(nxt))]).write_parquet(
        winnow_home / "storage" / "scored_documents" / f"{nxt}.parquet"
    )
    night2 = _push(recipe, ls_server, nxt)
    m2 = _meta(night2, "label_studio_tasks")
    sample2 = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{nxt}.parquet")
    sample1 = pl.read_parquet(winnow_home / "storage" / "annotation_sample" / f"{P}.parquet")
    repeated = len(set(sample2["doc_id"]) & set(sample1["doc_id"]))
    assert m2["already_sent"] == repeated and m2["imported"] == sample2.height - repeated
    doc_ids = [t["data"]["doc_id"] for t in _project_tasks(ls_server, title)]
    assert len(doc_ids) == len(set(doc_ids)) == n + m2["imported"]
    assert _project_count(ls_server, title) == 1  # found by title, never duplicated


def test_a_lost_ledger_is_rebuilt_from_label_studio_and_nothing_is_imported_twice(tmp_path, winnow_home, ls_server):
    """Deleting the ledger re-imported the night's tasks with no warning (#14, item 6)."""
    title = "Winnow IT lost ledger"
    recipe = write_recipe(tmp_path / "recipe.yaml", title)
    _scored(winnow_home, n=600)
    n = _meta(_push(recipe, ls_server), "label_studio_tasks")["imported"]
    for ledger_file in (winnow_home / "annotation" / "ledger").glob("*.parquet"):
        ledger_file.unlink()  # every project's: this test's winnow_home is its own
    instance = dg.DagsterInstance.ephemeral()
    rerun = _push(recipe, ls_server, instance=instance)
    m = _meta(rerun, "label_studio_tasks")
    assert m["imported"] == 0 and m["reconstructed"] == n and m["already_sent"] == n
    doc_ids = [t["data"]["doc_id"] for t in _project_tasks(ls_server, title)]
    assert len(doc_ids) == len(set(doc_ids)) == n
    pushed = pl.read_parquet(winnow_home / "storage" / "label_studio_tasks" / f"{P}.parquet")
    assert pushed.height == n and pushed["stratum"].null_count() == 0  # design columns come back from the sample
    warnings = [e.user_message for e in instance.all_logs(rerun.run_id) if e.level >= logging.WARNING]
    assert any("disagreed with Label Studio" in w for w in warnings)
    # with the ledger rebuilt, the next rerun walks nothing and still imports nothing
    assert _meta(_push(recipe, ls_server), "label_studio_tasks")["reconstructed"] == 0


def _project_count(server, title: str) -> int:
    r = httpx.get(
        f"{server.url}/api/projects/",
        params={"title": title, "page_size": 100},
        headers={"Authorization": f"Token {server.token}"},
    )
    rows = r.json().get("results", r.json())
    return sum(p["title"] == title for p in rows)


class _CrashAfterImport:
    """The real client whose import of batch ``crash_at`` reaches the server but whose reply is lost."""

    def __init__(self, real, crash_at: int):
        self.real, self.crash_at, self.calls = real, crash_at, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def import_tasks(self, project_id, tasks):
        ids = self.real.import_tasks(project_id, tasks)
        self.calls += 1
        if self.calls - 1 == self.crash_at:
            raise ConnectionError("connection reset after the server stored the batch")
        return ids


def test_crash_mid_import_leaves_no_duplicates_on_rerun(tmp_path, winnow_home, ls_server):
    from schemas.recipe import load_recipe
    from winnow.annotation.labelstudio import LabelStudioClient
    from winnow.annotation.ledger import Ledger, ledger_path
    from winnow.annotation.push import push_sample
    from winnow.annotation.sampling import select_sample
    from winnow.annotation.tasks import label_config

    title = "Winnow IT crash"
    recipe = load_recipe(write_recipe(tmp_path / "recipe.yaml", title))
    _scored(winnow_home, n=1500)
    sample = select_sample(
        pl.scan_parquet(winnow_home / "storage" / "scored_documents" / f"{P}.parquet"), recipe
    ).collect()
    assert sample.height > 30
    real = LabelStudioClient(ls_server.url, ls_server.token)
    pid = real.ensure_project(title, label_config())
    ledger = Ledger(ledger_path(winnow_home, real.url, pid))
    with pytest.raises(ConnectionError):
        push_sample(_CrashAfterImport(real, crash_at=2), pid, sample, ledger, batch_size=10)
    led = ledger.read()
    assert (led["state"] == "sent").sum() == 20 and (led["state"] == "pending").sum() == 10
    # a crash *before* the server got a batch: pending rows that never arrived are sent again
    res = push_sample(real, pid, sample, ledger, batch_size=10)
    assert res.recovered_pending == 10 and res.already_sent == 30 and res.imported == sample.height - 30
    doc_ids = [t["data"]["doc_id"] for t in _project_tasks(ls_server, title)]
    assert len(doc_ids) == len(set(doc_ids)) == sample.height
    assert ledger.read()["state"].unique().to_list() == ["sent"]
    # the overlap flag survived the crash for the recovered batch too
    tasks = {t["data"]["doc_id"]: t for t in _project_tasks(ls_server, title)}
    assert all(tasks[d]["overlap"] == 2 for d in sample.filter(pl.col("overlap"))["doc_id"])
    real.close()


def test_pending_batch_that_never_arrived_is_sent_again(tmp_path, winnow_home, ls_server):
    from winnow.annotation.labelstudio import LabelStudioClient
    from winnow.annotation.ledger import Ledger, ledger_path
    from winnow.annotation.push import push_sample
    from winnow.annotation.tasks import label_config

    title = "Winnow IT lost batch"
    real = LabelStudioClient(ls_server.url, ls_server.token)
    pid = real.ensure_project(title, label_config())
    ledger = Ledger(ledger_path(winnow_home, real.url, pid))
    sample = pl.DataFrame(
        {
            "doc_id": [f"lost:{i}" for i in range(5)],
            "text": ["t"] * 5,
            "quality_score": [0.7] * 5,
            "inclusion_prob": [0.5] * 5,
            "sample_kind": ["random"] * 5,
            "overlap": [False] * 5,
            "partition": [P] * 5,
        }
    )
    ledger.add_pending(sample, "crashed-before-send")  # the process died before the request left
    res = push_sample(real, pid, sample, ledger, batch_size=10)
    assert res.recovered_pending == 0 and res.resent_pending == 5 and res.imported == 5
    assert sorted(t["data"]["doc_id"] for t in _project_tasks(ls_server, title)) == sample["doc_id"].to_list()
    real.close()
