"""Deduplication across nights: night 2's copies of night-1 documents are removed as history duplicates.

Night 1 is materialized through publishing (release and the dedup index), then
night 2, whose input contains exact and lightly edited copies of night-1
documents beside new ones. A rerun of night 1 must not see its own documents as
history.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import dagster as dg
import polars as pl

from tests.resources import resources_for

N1, N2 = "2026-11-24", "2026-11-25"

_SUBJ = [
    "the engineer",
    "a careful reader",
    "our small team",
    "the old library",
    "every new student",
    "the city council",
    "a local farmer",
    "the night train",
    "my younger sister",
    "the research group",
    "a quiet neighbour",
    "the museum guide",
]
_VERB = [
    "describes",
    "remembers",
    "explains",
    "collects",
    "repairs",
    "questions",
    "studies",
    "follows",
    "designs",
    "compares",
    "measures",
    "visits",
]
_OBJ = [
    "the winter harvest",
    "an unusual bridge",
    "several broken clocks",
    "the northern coast",
    "a forgotten recipe",
    "the annual budget",
    "three wooden boats",
    "the mountain road",
    "an early manuscript",
    "the river delta",
    "a noisy market",
    "the school garden",
]
_TAIL = [
    "before the storm arrives",
    "with great patience",
    "during the long summer",
    "after a short meeting",
    "for the first time",
    "without any help",
    "in the early morning",
    "because nobody else would",
    "while the rain keeps falling",
    "as the season changes",
    "near the old harbour",
    "under a grey sky",
]


def _doc(rng: random.Random) -> str:
    """A plain English paragraph that passes the quality filters, distinct from every other one."""
    lines = []
    for _ in range(4):
        sentences = [
            f"{rng.choice(_SUBJ).capitalize()} {rng.choice(_VERB)} {rng.choice(_OBJ)} {rng.choice(_TAIL)}."
            for _ in range(4)
        ]
        lines.append(" ".join(sentences))
    return "\n".join(lines)


def _edit(text: str, rng: random.Random) -> str:
    """A light edit: one word replaced (a near-duplicate, Jaccard well above 0.8)."""
    words = text.split(" ")
    words[rng.randrange(len(words))] = "indeed"
    return " ".join(words)


def _write_night(root: Path, night: str, rows: list[dict]) -> None:
    d = root / "in" / night
    d.mkdir(parents=True)
    (d / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _materialize(recipe: Path, releases: Path, night: str) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import all_assets

    selection = dg.AssetSelection.assets("curated_documents").upstream() | dg.AssetSelection.assets(
        "curated_release", "annotation_sample", "dedup_signatures", "dedup_index"
    )
    keys = selection.resolve(all_assets)
    needed = [a for a in all_assets if isinstance(a, dg.AssetsDefinition) and set(a.keys) & keys]
    return dg.materialize(
        needed,
        partition_key=night,
        resources=resources_for(recipe, releases),
    )


def test_second_night_copies_of_first_night_are_removed_as_history(tmp_path, winnow_home):
    rng = random.Random(4)
    night1 = [{"id": f"a{i}", "text": _doc(rng), "lang": "en"} for i in range(30)]
    exact_copies = [{"id": f"b{i}", "text": night1[i]["text"], "lang": "en"} for i in range(4)]
    near_copies = [{"id": f"c{i}", "text": _edit(night1[10 + i]["text"], rng), "lang": "en"} for i in range(3)]
    fresh = [{"id": f"d{i}", "text": _doc(rng), "lang": "en"} for i in range(10)]
    _write_night(tmp_path, N1, night1)
    _write_night(tmp_path, N2, exact_copies + near_copies + fresh)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: history\nversion: 1\nseed: 3\n"
        "sources:\n  - {name: s, path: 'in/{partition}/*.jsonl', format: jsonl, lang_field: lang}\n"
        "sampling: {fraction: 0.2}\npublish: {dataset: hist}\n"
        # the quality filters are another stage's business: every generated document passes
        "filters:\n  gopher_quality: {enabled: false}\n  gopher_repetition: {enabled: false}\n"
        "  c4: {enabled: false}\n  fineweb: {enabled: false}\n  language: {enabled: false}\n"
    )
    releases = tmp_path / "releases"
    storage = winnow_home / "storage"

    assert _materialize(recipe, releases, N1).success
    kept1 = pl.read_parquet(storage / "deduplicated_documents" / f"{N1}.parquet")
    assert kept1.height == 30, "night 1 has no duplicates among its own documents"
    index_dir = winnow_home / "dedup_index" / "partitions" / N1
    assert pl.read_parquet(index_dir / "hashes.parquet").height == 30
    assert len(list(index_dir.glob("band_*.parquet"))) == 14

    result2 = _materialize(recipe, releases, N2)
    assert result2.success
    md = {m.asset_key.path[-1]: m.metadata for m in result2.asset_materializations_for_node("deduplication")}
    assert md["deduplicated_documents"]["dagster/row_count"].value == 10
    assert md["deduplicated_documents"]["duplicate_clusters"].value == 0  # the clusters' kept docs are history
    assert md["deduplicated_documents"]["history_index_documents"].value == 30
    assert md["deduplicated_documents"]["cluster_size_chart"].value.startswith(
        "![duplicate cluster sizes](data:image/png"
    )
    assert "history | 7" in md["duplicates"]["by_kind"].value
    dups2 = pl.read_parquet(storage / "duplicates" / f"{N2}.parquet")
    kept2 = pl.read_parquet(storage / "deduplicated_documents" / f"{N2}.parquet")
    got = dict(zip(dups2["doc_id"], dups2["dup_of"]))
    want = {f"s:b{i}": f"s:a{i}" for i in range(4)} | {f"s:c{i}": f"s:a{10 + i}" for i in range(3)}
    assert got == want
    assert set(dups2["dup_kind"]) == {"history"}
    assert sorted(kept2["doc_id"]) == sorted(f"s:d{i}" for i in range(10))
    assert (dups2["dup_cluster_id"] == dups2["dup_of"]).all()

    # rerunning night 1 after night 2 was published: night 1 is not a duplicate of itself
    assert _materialize(recipe, releases, N1).success
    rerun = pl.read_parquet(storage / "duplicates" / f"{N1}.parquet")
    assert rerun.height == 0
    assert pl.read_parquet(index_dir / "hashes.parquet").height == 30  # replaced, not appended
