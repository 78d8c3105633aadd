"""The demo's annotators: two people work through the Label Studio queue, as real ones would.

    .venv/bin/python -m scripts.demo_annotate      (make demo-labels runs it for you)

Each annotator logs in with their own account (created through Label Studio's invite link,
password in ``$WINNOW_HOME/labelstudio/annotators.env``), asks for the next task, submits a
decision, a rating and issue tags, and repeats until the queue is empty. The project's
overlap tasks come round to the second annotator too, so agreement can be measured.

They judge by the bundled sample's ground truth (``scripts/corpus/sample_truth.py``): keep
real documentation, drop boilerplate, PII, spam and junk. The second annotator disagrees on a
fixed ~8% of documents (chosen by a hash of ``doc_id``), as people do, so agreement is
high but not perfect. Only the demo uses this; in production the people are real.
"""

from __future__ import annotations

import sys

import polars as pl

from schemas.recipe import load_recipe
from scripts.corpus.sample_truth import KEEP_KINDS, TAGS, truth_for
from winnow.annotation.accounts import ensure_annotator
from winnow.annotation.labelstudio import LabelStudioClient, discover, local_data_dir
from winnow.ids import hash_seed_fraction
from winnow.settings import load_settings
from winnow.store import Store

ANNOTATORS = (("ana@winnow.local", 0.0), ("ben@winnow.local", 0.08))


def _truth(store: Store) -> pl.DataFrame:
    """doc_id, provenance kind and a uniform number from its hash, for every night ingested so far."""
    files = store.table_files("raw_documents")
    if not files:
        raise SystemExit("no raw_documents yet: run `make demo` first")
    frames = [truth_for(pl.read_parquet(f, columns=["doc_id", "source", "source_file", "url"]), f.stem) for f in files]
    return pl.concat(frames).drop_nulls("content_kind").with_columns(u=hash_seed_fraction(pl.col("doc_id"), 7))


def _result(kind: str, keep: bool) -> list[dict]:
    result = [
        {
            "from_name": "decision",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["keep" if keep else "drop"]},
        },
        {"from_name": "rating", "to_name": "text", "type": "rating", "value": {"rating": 4 if keep else 2}},
    ]
    if not keep and TAGS.get(kind):
        result.append({"from_name": "tags", "to_name": "text", "type": "choices", "value": {"choices": TAGS[kind]}})
    return result


def label_queue(
    client: LabelStudioClient,
    project_id: int,
    kinds: dict[str, str],
    flipped: frozenset[str] = frozenset(),
    lead_time: float = 20.0,
) -> int:
    """Take the next task and submit it, until Label Studio has nothing more for this person.

    ``kinds`` maps doc_id to its provenance kind; the decision on ``flipped`` documents is
    the opposite of the careful one.
    """
    done = 0
    while True:
        r = client._http.get(f"/api/projects/{project_id}/next/")
        if r.status_code != 200 or not r.json().get("id"):
            return done
        task = r.json()
        doc_id = task["data"]["doc_id"]
        kind = kinds[doc_id]
        keep = (kind in KEEP_KINDS) != (doc_id in flipped)  # copies already carry their page's kind
        client.sdk.annotations.create(id=task["id"], result=_result(kind, keep), lead_time=lead_time)
        done += 1


def main() -> int:
    config = load_settings()
    settings = discover(config.label_studio, config.home)
    if settings is None:
        print(
            "Label Studio is not running: start it with `bash scripts/labelstudio.sh start` "
            "(make demo does), then rerun.",
            file=sys.stderr,
        )
        return 2
    title = load_recipe(config.recipe).annotation.project_title
    truth = _truth(Store(config.home))
    kinds = dict(zip(truth["doc_id"], truth["content_kind"]))
    store = local_data_dir(config.label_studio, config.home) / "annotators.env"
    for email, flip in ANNOTATORS:
        _, token = ensure_annotator(settings.url, settings.token, email, store=store)
        client = LabelStudioClient(settings.url, token)
        try:
            project = client.find_project(title)
            if project is None:
                print(f"no Label Studio project titled {title!r}: run `make demo` first", file=sys.stderr)
                return 2
            flipped = frozenset(truth.filter(pl.col("u") < flip)["doc_id"].to_list())
            n = label_queue(client, project, kinds, flipped)
        finally:
            client.close()
        print(f"demo annotator {email}: labelled {n} tasks in project {title!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
