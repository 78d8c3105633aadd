"""An annotator logs in to the real Label Studio in headless Chromium and labels a random-sample task.

The task is blind (#13): the labelling view and the Data Manager show the text and neutral
context only, no pipeline verdict, no score, no stratum and no pre-annotation. The
screenshot is saved as test-artifacts/labelstudio_task.png and docs/images/labelstudio_task.png
(the README's).
"""

from __future__ import annotations

import time

import polars as pl
import pytest

from tests.e2e.browser import ARTIFACTS, browser, keep_screenshot  # noqa: F401  (the fixture)
from tests.integration.ls_server import get_server

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio]


def test_annotator_labels_a_blind_random_sample_task(tmp_path, browser):
    from winnow.annotation.accounts import ensure_annotator
    from winnow.annotation.labelstudio import LabelStudioClient
    from winnow.annotation.ledger import Ledger, ledger_path
    from winnow.annotation.push import push_sample
    from winnow.annotation.tasks import instructions_html, label_config

    server = get_server()
    client = LabelStudioClient(server.url, server.token)
    pid = client.ensure_project("Winnow browser review", label_config(), instructions_html())
    text = "Debian reference: apt-get update refreshes the package lists. Contact <EMAIL> for help."
    sample = pl.DataFrame(
        [
            {
                "doc_id": "web:browser-1",
                "text": text,
                "partition": "2026-11-24",
                "source": "web",
                "sample_lang": "en",
                "quality_score": 0.62,
                "score_source": "heuristic",
                "stratum": "kept:web:en:q0.50-0.75",
                "inclusion_prob": 0.02,
                "sample_kind": "random",
                "overlap": False,
                "status": "kept",
            }
        ]
    )
    res = push_sample(client, pid, sample, Ledger(ledger_path(tmp_path, server.url, pid)))
    task_id = res.task_ids[0] if res.task_ids else client.doc_task_ids(pid, {"web:browser-1"})["web:browser-1"]
    client.close()
    email = "reviewer@winnow.test"
    password, _ = ensure_annotator(server.url, server.token, email, store=server.data / "annotators.env")

    browser.get(f"{server.url}/user/login/")
    browser.type("input[name=email]", email)
    browser.type("input[name=password]", password)
    browser.click("button[type=submit], input[type=submit]")
    browser.wait_text("Winnow browser review", timeout=60)  # the project list after login

    browser.get(f"{server.url}/projects/{pid}/data?task={task_id}")
    page = browser.wait_text("apt-get update refreshes", "source: web", "keep", "drop", "boilerplate/navigation")
    assert "language: en" in page
    # nothing of the pipeline's verdict: no score, no status, no stratum, no sample kind
    for leak in ("score:", "0.62", "pipeline:", "q0.50-0.75", "kept:web", "quality_score", "stratum", "sampled:"):
        assert leak not in page, f"the blind task shows {leak!r}"
    # and no pre-annotation: no choice is ticked and no star is lit before the annotator acts
    checked = browser.js(
        "return Array.from(document.querySelectorAll('input:checked'))"
        ".map(i => ((i.closest('label') || i.parentElement).innerText || '').trim())"
    )
    choices = ("keep", "drop", "boilerplate", "spam", "machine", "toxic", "personal", "wrong", "near-dup", "garbled")
    assert not [c for c in checked if c.lower().startswith(choices)], checked
    assert browser.js("return document.querySelectorAll('.ant-rate-star-full').length") == 0
    png = browser.screenshot(ARTIFACTS / "labelstudio_task.png")
    keep_screenshot(png, "labelstudio_task.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    # the annotator decides keep, ticks an issue tag and submits
    browser.click_xpath("//label[contains(., 'keep')]")
    browser.click_xpath("//label[contains(., 'near-duplicate')]")
    browser.click_xpath("//button[normalize-space(.)='Submit']")
    admin = LabelStudioClient(server.url, server.token)
    deadline, anns = time.time() + 30, []
    while time.time() < deadline and not anns:
        anns = admin.export_tasks(pid, [task_id])
        anns = anns[0]["annotations"] if anns else []
        time.sleep(0.5)
    admin.close()
    assert anns, "the submitted annotation never reached Label Studio"
    from winnow.annotation.parse import parse_result

    got = parse_result(anns[0]["result"])
    assert got["decision"] == "keep" and got["rating"] is None and got["tags"] == ["near-duplicate"]
    assert anns[0]["completed_by"] == next(
        u for u, e in LabelStudioClient(server.url, server.token).users().items() if e == email
    )
