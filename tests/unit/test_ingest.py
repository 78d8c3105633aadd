"""Each bad-input case lands in quarantine with its reason, and nothing else is lost."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from schemas.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA
from schemas.recipe import Recipe
from winnow.ingest import ingest_partition

P = "2026-11-24"


def _recipe(sources: list[dict]) -> Recipe:
    return Recipe.model_validate({"name": "t", "version": 1, "sources": sources})


def _jsonl_bytes(rows: list) -> bytes:
    out = []
    for r in rows:
        out.append(r if isinstance(r, bytes) else json.dumps(r).encode())
    return b"\n".join(out) + b"\n"


def _run(tmp_path: Path, files: dict[str, bytes], sources: list[dict]):
    d = tmp_path / "in" / P
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    res = ingest_partition(_recipe(sources), tmp_path / "in", P, tmp_path / "work")
    return res, res.documents.collect(), res.quarantine.collect()


GOOD = [{"id": i, "text": f"good document number {i}", "url": f"http://x/{i}"} for i in range(5)]


@pytest.mark.parametrize(
    "bad,reason",
    [
        (b'{"id": 99, "text": "unterminated', "malformed_json"),
        (b"[1, 2, 3]", "malformed_json"),
        (b'{"id": 98, "text": "bad \xff\xfe bytes"}', "invalid_utf8"),
        ({"id": 97, "url": "http://x/no-text"}, "missing_text"),
        ({"id": 96, "text": None}, "missing_text"),
        ({"id": 95, "text": 12345}, "non_string_text"),
        ({"id": 94, "text": ["a", "list"]}, "non_string_text"),
        ({"id": 93, "text": "   \n\t "}, "empty_text"),
        ({"id": 1, "text": "same id as an earlier row"}, "duplicate_id"),
    ],
)
def test_bad_row_goes_to_quarantine_with_reason(tmp_path, bad, reason):
    rows = GOOD[:3] + [bad] + GOOD[3:]
    res, docs, q = _run(
        tmp_path, {"a.jsonl": _jsonl_bytes(rows)}, [{"name": "s", "path": "{partition}/*.jsonl", "format": "jsonl"}]
    )
    assert docs.height == 5, "every good row is kept"
    assert sorted(docs["doc_id"]) == sorted(f"s:{i}" for i in range(5))
    assert q.height == 1
    row = q.row(0, named=True)
    assert row["reason"] == reason
    assert row["source_line"] == 4  # the bad row is the 4th line
    assert "a.jsonl:4" in row["message"]
    assert dict(q.schema) == QUARANTINE_SCHEMA
    assert dict(docs.schema) == DOCUMENT_SCHEMA


def test_compressed_formats_and_field_mapping(tmp_path):
    rows = [
        {"key": f"k{i}", "body": f"text {i}", "when": "2026-11-24T10:00:00Z", "title": f"T{i}", "junk": 1}
        for i in range(4)
    ]
    data = _jsonl_bytes(rows)
    files = {"a.jsonl.gz": gzip.compress(data), "b.jsonl.zst": zstandard.ZstdCompressor().compress(data)}
    src = {
        "format": "jsonl",
        "text_field": "body",
        "id_field": "key",
        "timestamp_field": "when",
        "metadata_fields": ["title"],
    }
    res, docs, q = _run(
        tmp_path,
        files,
        [{"name": "gz", "path": "{partition}/*.gz", **src}, {"name": "zst", "path": "{partition}/*.zst", **src}],
    )
    assert q.height == 0
    assert docs.height == 8
    assert set(docs["doc_id"]) == {f"{s}:k{i}" for s in ("gz", "zst") for i in range(4)}
    assert docs["metadata"].to_list()[:4] == [json.dumps({"title": f"T{i}"}) for i in range(4)]  # file and line order
    assert docs["created_at"].null_count() == 0


def test_truncated_compressed_file_fails_by_name_and_others_go_on(tmp_path):
    data = _jsonl_bytes([{"id": i, "text": "x " * 2000} for i in range(200)])
    gz = gzip.compress(data)
    zs = zstandard.ZstdCompressor().compress(data)
    files = {
        "good.jsonl": _jsonl_bytes(GOOD),
        "broken.jsonl.gz": gz[: len(gz) // 2],
        "broken.jsonl.zst": zs[: len(zs) // 2],
    }
    res, docs, q = _run(tmp_path, files, [{"name": "s", "path": "{partition}/*", "format": "jsonl"}])
    assert docs.height == 5
    assert sorted(q["reason"].to_list()) == ["corrupt_file", "corrupt_file"]
    assert any("broken.jsonl.gz" in m for m in q["message"]) and any("broken.jsonl.zst" in m for m in q["message"])
    assert len(res.errors) == 2 and all("broken.jsonl" in e for e in res.errors)
    assert {f["status"] for f in res.files} == {"ok", "failed"}


def test_parquet_and_text_folder(tmp_path):
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["alpha doc", None, "gamma doc"]}), buf)
    files = {
        "p.parquet": buf.getvalue().to_pybytes(),
        "txt/one.txt": b"first text file",
        "txt/two.md": b"# second\n\nmarkdown",
        "txt/empty.txt": b"  ",
        "txt/bad.txt": b"\xff\xfe",
        "txt/ignored.bin": b"binary",
    }
    res, docs, q = _run(
        tmp_path,
        files,
        [
            {"name": "pq", "path": "{partition}/*.parquet", "format": "parquet"},
            {"name": "tx", "path": "{partition}/txt", "format": "text", "id_field": None},
        ],
    )
    assert sorted(docs.filter(pl.col("source") == "pq")["doc_id"]) == ["pq:a", "pq:c"]
    assert docs.filter(pl.col("source") == "tx").height == 2
    assert sorted(q["reason"].to_list()) == ["empty_text", "invalid_utf8", "missing_text"]
    pq_row = q.filter(pl.col("reason") == "missing_text").row(0, named=True)
    assert pq_row["source_line"] == 2


def test_doc_id_is_stable_across_runs(tmp_path):
    rows = [{"text": "no id here"}, {"text": "another"}]
    src = [{"name": "s", "path": "{partition}/*.jsonl", "format": "jsonl"}]
    _, d1, _ = _run(tmp_path / "r1", {"a.jsonl": _jsonl_bytes(rows)}, src)
    _, d2, _ = _run(tmp_path / "r2", {"a.jsonl": _jsonl_bytes(rows)}, src)
    assert d1["doc_id"].to_list() == d2["doc_id"].to_list()
    assert all(i.startswith("s:h") for i in d1["doc_id"])


# ----------------------------------------------------------------------------- hostile lines (#14, items 1-3)
@pytest.mark.parametrize(
    "bad,reason",
    [
        (b'{"id": 90, "text": "lone \\ud800 surrogate"}', "invalid_unicode"),
        (b'{"id": 89, "text": "ok", "meta": "\\udfff"}', "invalid_unicode"),
        (b'{"id": 88, "text": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too_deep"),
        (b'{"id": 87, "text": "big", "n": ' + b"9" * 5000 + b"}", "number_too_large"),
    ],
)
def test_a_record_that_crashes_the_parser_is_quarantined_and_the_file_goes_on(tmp_path, bad, reason):
    rows = GOOD[:3] + [bad] + GOOD[3:]
    res, docs, q = _run(
        tmp_path, {"a.jsonl": _jsonl_bytes(rows)}, [{"name": "s", "path": "{partition}/*.jsonl", "format": "jsonl"}]
    )
    assert docs.height == 5 and q.height == 1
    row = q.row(0, named=True)
    assert row["reason"] == reason and row["source_line"] == 4 and "a.jsonl:4" in row["message"]


def test_a_bom_costs_no_record_and_cr_line_endings_split(tmp_path):
    body = b"\r".join(json.dumps(r).encode() for r in GOOD) + b"\r"
    files = {"bom.jsonl": b"\xef\xbb\xbf" + _jsonl_bytes(GOOD[:2]), "cr.jsonl": body}
    sources = [
        {"name": "b", "path": "{partition}/bom.jsonl", "format": "jsonl"},
        {"name": "c", "path": "{partition}/cr.jsonl", "format": "jsonl"},
    ]
    res, docs, q = _run(tmp_path, files, sources)
    assert q.height == 0, q
    assert docs.filter(pl.col("source") == "b").height == 2
    cr = docs.filter(pl.col("source") == "c").sort("source_line")
    assert cr.height == 5 and cr["source_line"].to_list() == [1, 2, 3, 4, 5]


def test_nul_bytes_are_stripped_and_counted(tmp_path):
    rows = [{"id": 1, "text": "good\x00 text\x00 here"}, {"id": 2, "text": "\x00\x00 "}]
    res, docs, q = _run(
        tmp_path, {"a.jsonl": _jsonl_bytes(rows)}, [{"name": "s", "path": "{partition}/*.jsonl", "format": "jsonl"}]
    )
    (doc,) = docs.iter_rows(named=True)
    assert doc["text"] == "good text here" and json.loads(doc["metadata"])["winnow_nul_bytes_removed"] == 2
    assert q["reason"].to_list() == ["empty_text"]


def test_utf8_in_a_parquet_binary_column_is_decoded(tmp_path):
    table = pa.table({"id": [1, 2], "text": pa.array(["grüße aus köln".encode(), b"\xff\xfe"], type=pa.binary())})
    d = tmp_path / "in" / P
    d.mkdir(parents=True)
    pq.write_table(table, d / "a.parquet")
    res = ingest_partition(
        _recipe([{"name": "p", "path": "{partition}/*.parquet", "format": "parquet"}]), tmp_path / "in", P,
        tmp_path / "work",
    )  # fmt: skip
    docs, q = res.documents.collect(), res.quarantine.collect()
    assert docs["text"].to_list() == ["grüße aus köln"]
    assert q["reason"].to_list() == ["invalid_utf8"]


def test_a_source_matching_no_file_is_an_error_naming_path_and_pattern(tmp_path):
    """A mistyped path gave 0 documents and a green check (#14, item 5)."""
    sources = [
        {"name": "s", "path": "{partition}/*.jsonl", "format": "jsonl"},
        {"name": "typo", "path": "{partition}/wbe/*.jsonl", "format": "jsonl"},
        {"name": "sometimes", "path": "{partition}/extra/*.jsonl", "format": "jsonl", "optional": True},
    ]
    res, docs, q = _run(tmp_path, {"a.jsonl": _jsonl_bytes(GOOD)}, sources)
    assert docs.height == 5
    (err,) = res.errors
    assert "source typo: no file matches" in err and f"{P}/wbe/*.jsonl" in err and "optional: true" in err


def test_text_folder_links_outside_loops_and_dangling_are_skipped_and_listed(tmp_path):
    """The reader ingested /etc/hostname through a link and skipped broken links silently (#14, item 4)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("a file outside the source folder")
    (outside / "more").mkdir()
    (outside / "more" / "deep.txt").write_text("deep outside")
    d = tmp_path / "in" / P / "txt"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("inside document one")
    (d / "sub" / "b.md").write_text("inside document two")
    (d / "inside_link.txt").symlink_to(d / "sub" / "b.md")  # inside: read, and its text repeats b.md
    (d / "out.txt").symlink_to(outside / "secret.txt")
    (d / "outdir").symlink_to(outside / "more")
    (d / "dangling.txt").symlink_to(tmp_path / "nothing.txt")
    (d / "loop.txt").symlink_to(d / "loop.txt")
    (d / "sub" / "up").symlink_to(d)
    src = {"name": "tx", "path": "{partition}/txt", "format": "text", "id_field": None}
    res = ingest_partition(_recipe([src]), tmp_path / "in", P, tmp_path / "work")
    docs, q = res.documents.collect(), res.quarantine.collect()
    assert sorted(docs["text"]) == ["inside document one", "inside document two"]
    reasons = dict(zip(q["source_file"].map_elements(lambda p: Path(p).name, return_dtype=pl.String), q["reason"]))
    assert reasons == {
        "b.md": "duplicate_id",  # the link sorts first, so its copy is the one kept
        "out.txt": "link_outside_source",
        "outdir": "link_outside_source",
        "dangling.txt": "dangling_link",
        "loop.txt": "link_loop",
        "up": "directory_link_inside",
    }
    assert "follow_outside_links: true" in q.filter(pl.col("reason") == "link_outside_source")["message"][0]

    followed = ingest_partition(
        _recipe([{**src, "follow_outside_links": True}]), tmp_path / "in", P, tmp_path / "work2"
    )
    texts = sorted(followed.documents.collect()["text"])
    assert texts == ["a file outside the source folder", "deep outside", "inside document one", "inside document two"]
    assert "/etc" not in " ".join(res.documents.collect()["source_file"])
