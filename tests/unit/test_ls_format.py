"""Label Studio payloads offline: labeling config, task format, export parsing, ledger, discovery, retries."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import polars as pl
import pytest
from label_studio_sdk.label_interface import LabelInterface

from schemas.documents import ANNOTATION_SCHEMA, ISSUE_TAGS
from winnow.annotation.labelstudio import (
    START_HINT,
    LabelStudioClient,
    LabelStudioError,
    LabelStudioUnavailable,
    discover,
)
from winnow.annotation.ledger import Ledger, ledger_path
from winnow.annotation.parse import merge_annotations, parse_export
from winnow.annotation.tasks import format_task, format_tasks, label_config, validate_tasks
from winnow.settings import settings_from

ROW = {
    "doc_id": "web:42",
    "text": "Redacted <EMAIL> text",
    "partition": "2026-11-24",
    "source": "web",
    "sample_lang": "de",
    "quality_score": 0.8,
    "score_source": "heuristic",
    "stratum": "kept:web:de:q0.75-1.00",
    "inclusion_prob": 0.04,
    "sample_kind": "random",
    "overlap": True,
    "status": "kept",
    "drop_reason": None,
    "url": "https://example.org/a",
}


def test_label_config_has_the_issue_labels():
    root = ET.fromstring(label_config())
    controls = {el.get("name"): el for el in root.iter() if el.get("toName") == "text"}
    assert set(controls) == {"decision", "rating", "tags", "comment"}
    assert [c.get("value") for c in controls["decision"]] == ["keep", "drop"]
    assert controls["decision"].get("required") == "true"
    assert controls["rating"].get("maxRating") == "5"
    assert tuple(c.get("value") for c in controls["tags"]) == ISSUE_TAGS
    assert controls["tags"].get("choice") == "multiple"
    assert controls["comment"].tag == "TextArea"
    LabelInterface(label_config())  # the SDK parses it


ACTIVE = {**ROW, "sample_kind": "active", "inclusion_prob": 1.0}


def test_active_task_carries_lineage_weight_and_a_valid_prediction():
    task = format_task(ACTIVE)
    d = task["data"]
    assert d["doc_id"] == "web:42" and d["stratum"] == ROW["stratum"] and d["weight"] == pytest.approx(1.0)
    assert d["text"] == "Redacted <EMAIL> text" and d["overlap"] is True
    assert "source: web" in d["info"] and "language: de" in d["info"] and "score: 0.80" in d["info"]
    (pred,) = task["predictions"]
    assert pred["result"][0]["value"] == {"choices": ["keep"]} and pred["result"][1]["value"] == {"rating": 4}
    assert validate_tasks([task]) == []
    low = format_task({**ACTIVE, "quality_score": 0.1})
    assert low["predictions"][0]["result"][0]["value"] == {"choices": ["drop"]}
    assert "predictions" not in format_task({**ACTIVE, "quality_score": None})


@pytest.mark.parametrize("kind", ["random", "rejected"])
def test_probability_sample_tasks_are_blind(kind):
    """No verdict, score, stratum, kind or pre-annotation: nothing that anchors the annotator."""
    task = format_task({**ROW, "sample_kind": kind, "status": "rejected", "drop_reason": "gopher_short"})
    assert "predictions" not in task
    d = task["data"]
    assert d["info"] == "source: web · language: de"
    shown = " ".join(str(v) for v in d.values())
    for leak in ("rejected", "gopher", "0.8", "q0.75", "kept", "random"):
        assert leak not in shown.replace(d["text"], ""), leak
    assert set(d) == {"text", "info", "doc_id", "partition", "source", "lang", "overlap", "url"}
    assert validate_tasks([task]) == []


def test_validate_tasks_catches_a_bad_prediction():
    bad = format_task(ACTIVE)
    bad["predictions"][0]["result"][0]["value"] = {"choices": ["maybe"]}
    assert any("maybe" in p for p in validate_tasks([bad]))
    assert format_tasks(pl.DataFrame([ROW]))[0]["data"]["doc_id"] == "web:42"


def _export_task(task_id, doc_id, annotations):
    return {
        "id": task_id,
        "project": 3,
        "data": {
            "doc_id": doc_id,
            "stratum": "kept:web:en:q0.75-1.00",
            "inclusion_prob": 0.02,
            "sample_kind": "random",
            "partition": "2026-11-24",
            "overlap": True,
        },
        "annotations": annotations,
    }


def _ann(aid, user, decision, updated, rating=4, tags=(), comment=None, cancelled=False):
    result = [
        {"from_name": "decision", "to_name": "text", "type": "choices", "value": {"choices": [decision]}},
        {"from_name": "rating", "to_name": "text", "type": "rating", "value": {"rating": rating}},
    ]
    if tags:
        result.append({"from_name": "tags", "to_name": "text", "type": "choices", "value": {"choices": list(tags)}})
    if comment:
        result.append({"from_name": "comment", "to_name": "text", "type": "textarea", "value": {"text": [comment]}})
    return {
        "id": aid,
        "completed_by": user,
        "result": result,
        "was_cancelled": cancelled,
        "lead_time": 7.5,
        "created_at": "2026-11-25T06:36:46.626212Z",
        "updated_at": updated,
    }


def test_parse_export_rows_newest_wins_and_cancelled_are_counted():
    from winnow.annotation.parse import ParseReport

    tasks = [
        _export_task(
            1,
            "web:1",
            [
                _ann(10, 1, "keep", "2026-11-25T07:00:00Z", tags=["spam/ads"], comment="ok"),
                _ann(11, 2, "drop", "2026-11-25T07:01:00Z", rating=2),
                _ann(12, 1, "drop", "2026-11-25T08:00:00Z", rating=1),  # same annotator, newer: wins
            ],
        ),
        _export_task(2, "web:2", [_ann(13, 2, "keep", "2026-11-25T07:02:00Z", cancelled=True)]),
    ]
    rep = ParseReport()
    df = parse_export(tasks, {1: "ann1@x", 2: "ann2@x"}, 3, rep)
    assert set(ANNOTATION_SCHEMA) <= set(df.columns)
    assert df.height == 2 and rep.cancelled == 1 and rep.annotations == 3 and rep.problems == []
    ann1 = df.filter(pl.col("annotator") == "ann1@x").row(0, named=True)
    assert ann1["decision"] == "drop" and ann1["rating"] == 1 and ann1["annotation_id"] == 12
    assert ann1["updated_at"] == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert ann1["stratum"] == "kept:web:en:q0.75-1.00" and ann1["inclusion_prob"] == 0.02 and ann1["lead_time_s"] == 7.5


def test_parse_flags_incomplete_annotations_instead_of_dropping_them():
    from winnow.annotation.parse import ParseReport

    rep = ParseReport()
    t = _export_task(
        5,
        "web:5",
        [
            {
                "id": 50,
                "completed_by": 9,
                "result": [],
                "created_at": "2026-11-25T07:00:00Z",
                "updated_at": "2026-11-25T07:00:00Z",
            }
        ],
    )
    df = parse_export([t], {}, 3, rep)
    assert df.height == 1 and df["decision"][0] is None and df["annotator"][0] == "user:9"
    assert rep.problems and "task 5 annotation 50" in rep.problems[0]


def test_merge_replaces_older_rows():
    old = parse_export([_export_task(1, "web:1", [_ann(10, 1, "keep", "2026-11-25T07:00:00Z")])], {1: "a"})
    new = parse_export([_export_task(1, "web:1", [_ann(10, 1, "drop", "2026-11-25T09:00:00Z")])], {1: "a"})
    merged = merge_annotations(old, new)
    assert merged.height == 1 and merged["decision"][0] == "drop"


def test_ledger_pending_then_sent_and_drop(tmp_path):
    led = Ledger(ledger_path(tmp_path, "http://127.0.0.1:8089", 7))
    assert "127_0_0_1_8089__project7" in led.path.name
    rows = pl.DataFrame({"doc_id": ["a", "b", "c"], "partition": ["p"] * 3, "overlap": [True, False, False]})
    with led.lock():
        led.add_pending(rows, "p:0:a")
        assert led.sent_doc_ids() == set()
        led.mark_sent({"a": 100, "b": 101})
        led.drop_pending({"c"})
    df = led.read().sort("doc_id")
    assert df["doc_id"].to_list() == ["a", "b"] and df["task_id"].to_list() == [100, 101]
    assert led.sent_doc_ids() == {"a", "b"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_retries_then_says_what_to_start():
    sleeps: list[float] = []
    token = "f" * 40
    client = LabelStudioClient(f"http://127.0.0.1:{_free_port()}", token, retries=3, backoff_s=0.5, sleep=sleeps.append)
    with pytest.raises(LabelStudioUnavailable) as err:
        client.wait_healthy()
    assert sleeps == [0.5, 1.0, 2.0]  # exponential backoff
    assert "scripts/labelstudio.sh start" in str(err.value) and token not in str(err.value)
    assert START_HINT in str(err.value)
    assert token not in repr(client)


def test_discover_env_local_and_not_configured(tmp_path):
    env: dict[str, str] = {}

    def discover_with(_home):
        return discover(settings_from({}, env, "test").label_studio, _home)

    assert discover_with(tmp_path) is None  # never started
    data = tmp_path / "labelstudio"
    data.mkdir()
    (data / "credentials.env").write_text("WINNOW_LS_URL=http://127.0.0.1:9999\nWINNOW_LS_TOKEN=" + "a" * 40 + "\n")
    assert discover_with(tmp_path) is None  # stopped on purpose (no pid file)
    (data / "labelstudio.pid").write_text("123")
    s = discover_with(tmp_path)
    assert s.url == "http://127.0.0.1:9999" and s.origin == "local" and "a" * 40 not in repr(s)
    env["WINNOW_LABEL_STUDIO"] = "off"
    assert discover_with(tmp_path) is None
    del env["WINNOW_LABEL_STUDIO"]
    env["WINNOW_LABEL_STUDIO_URL"] = "http://ls.example:8080/"
    assert discover_with(tmp_path).url == "http://ls.example:8080" and discover_with(tmp_path).token == "a" * 40
    (data / "credentials.env").unlink()
    with pytest.raises(LabelStudioError, match="WINNOW_LABEL_STUDIO_TOKEN"):
        discover_with(tmp_path)


def test_a_truncated_ledger_names_the_file_and_the_recovery(tmp_path):
    """A truncated ledger failed with polars' bare "File out of specification" (#14, item 8)."""
    from winnow.annotation.ledger import Ledger
    from winnow.storage import CorruptStateError

    ledger = Ledger(tmp_path / "ledger" / "h__project1.parquet")
    ledger.add_pending(pl.DataFrame({"doc_id": [f"d{i}" for i in range(50)], "partition": ["p"] * 50}), "b0")
    data = ledger.path.read_bytes()
    ledger.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptStateError) as err:
        ledger.read()
    msg = str(err.value)
    assert str(ledger.path) in msg and "annotation ledger" in msg and "rebuilds it from the project's tasks" in msg
