"""A generated corpus of hostile inputs: every kind of bad record or file ingest must survive.

Each case is one file (or one text-folder entry) and says how many records it holds and
which quarantine reasons its bad records must get. ``build(root)`` writes them all under
``root/<night>/`` and returns the cases; the recipe that reads them is ``recipe_sources()``.

A record is a non-blank line of a JSONL file (CR-only line ends count as line ends), a row
of a Parquet file, one file or link of a text folder; a file that cannot be read to the
end is one record, quarantined whole as ``corrupt_file``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

NIGHT = "2026-11-24"


@dataclass
class Case:
    kind: str
    path: str  # relative to the night's folder
    records: int
    reasons: list[str] = field(default_factory=list)  # quarantine reasons of its bad records, sorted


def _good(tag: str, n: int = 3) -> list[bytes]:
    return [
        json.dumps({"id": f"{tag}-ok{i}", "text": f"A good {tag} document, number {i}."}).encode() for i in range(n)
    ]


def _jsonl(bad: list[bytes], tag: str, *, sep: bytes = b"\n", prefix: bytes = b"") -> bytes:
    return prefix + sep.join([*_good(tag, 2), *bad, *_good(tag + "b", 1)]) + sep


LINES: dict[str, tuple[list[bytes], list[str]]] = {
    # kind: (bad lines, reasons they must get; a line with no reason is a document)
    "truncated_object": ([b'{"id": "x", "text": "unterminated'], ["malformed_json"]),
    "json_array": ([b"[1, 2, 3]"], ["malformed_json"]),
    "json_string": ([b'"just a string"'], ["malformed_json"]),
    "json_null": ([b"null"], ["malformed_json"]),
    "trailing_garbage": ([b'{"id": "g", "text": "ok"} trailing'], ["malformed_json"]),
    "invalid_utf8": ([b'{"id": "u", "text": "bad \xff\xfe bytes"}'], ["invalid_utf8"]),
    "overlong_utf8": ([b'{"id": "o", "text": "\xc0\xaf slash"}'], ["invalid_utf8"]),
    "lone_surrogate": ([b'{"id": "s", "text": "half a pair \\ud800 here"}'], ["invalid_unicode"]),
    "surrogate_in_id": ([b'{"id": "\\udc00", "text": "the id is broken"}'], ["invalid_unicode"]),
    "deep_nesting": ([b'{"id": "d", "text": "t", "m": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"], ["too_deep"]),
    "huge_integer": ([b'{"id": "n", "text": "t", "big": ' + b"9" * 5000 + b"}"], ["number_too_large"]),
    "missing_text": ([b'{"id": "m", "url": "http://x/no-text"}'], ["missing_text"]),
    "null_text": ([b'{"id": "nt", "text": null}'], ["missing_text"]),
    "number_text": ([b'{"id": "num", "text": 12345}'], ["non_string_text"]),
    "list_text": ([b'{"id": "l", "text": ["a", "list"]}'], ["non_string_text"]),
    "object_text": ([b'{"id": "ob", "text": {"a": 1}}'], ["non_string_text"]),
    "bool_text": ([b'{"id": "b", "text": true}'], ["non_string_text"]),
    "empty_text": ([b'{"id": "e", "text": ""}'], ["empty_text"]),
    "whitespace_text": ([b'{"id": "w", "text": " \\n\\t \\u00a0 "}'], ["empty_text"]),
    "nul_only_text": ([b'{"id": "z", "text": "\\u0000\\u0000"}'], ["empty_text"]),
    "duplicate_id": ([b'{"id": "dup", "text": "first"}', b'{"id": "dup", "text": "second"}'], ["duplicate_id"]),
    # records that look odd but are documents
    "nul_inside_text": ([b'{"id": "nul", "text": "before\\u0000after"}'], []),
    "control_chars": ([b'{"id": "c", "text": "bell \\u0007 and escape \\u001b[31m red"}'], []),
    "nan_and_infinity": ([b'{"id": "f", "text": "floats", "a": NaN, "b": Infinity, "c": -Infinity}'], []),
    "object_id": ([b'{"id": {"nested": [1, 2]}, "text": "an id that is an object"}'], []),
    "duplicate_keys": ([b'{"id": "k", "text": "first", "text": "the last one wins"}'], []),
    "bad_timestamp": ([b'{"id": "t", "text": "when?", "ts": "not a date"}'], []),
    "mixed_scripts": ([json.dumps({"id": "x", "text": "中文 עברית مرحبا 🙂 e\u0301"}).encode()], []),
    "five_megabyte_text": ([json.dumps({"id": "big", "text": "word " * 1_000_000}).encode()], []),
    "blank_lines_between": ([b"", b"   ", b'{"id": "after-blank", "text": "still read"}'], []),
}


def _case_lines(root: Path, kind: str, bad: list[bytes], reasons: list[str], **kw) -> Case:
    path = f"jsonl/{kind}.jsonl"
    (root / path).write_bytes(_jsonl(bad, kind, **kw))
    records = 3 + sum(1 for b in bad if b.strip())
    return Case(kind, path, records, sorted(reasons))


def _files(root: Path) -> list[Case]:
    """Whole-file problems: encodings, line ends, compression, Parquet, text folders."""
    cases: list[Case] = []

    def lines(tag: str) -> bytes:
        return _jsonl([json.dumps({"id": f"{tag}-bad", "text": 1}).encode()], tag)

    def add(kind: str, path: str, data: bytes, records: int, reasons: list[str]) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        cases.append(Case(kind, path, records, sorted(reasons)))

    add("utf8_bom", "jsonl/utf8_bom.jsonl", b"\xef\xbb\xbf" + _jsonl([], "bom"), 3, [])
    add("cr_line_endings", "jsonl/cr_line_endings.jsonl", _jsonl([], "cr", sep=b"\r"), 3, [])
    add("crlf_line_endings", "jsonl/crlf_line_endings.jsonl", _jsonl([], "crlf", sep=b"\r\n"), 3, [])
    add("no_final_newline", "jsonl/no_final_newline.jsonl", _jsonl([], "nofinal").rstrip(b"\n"), 3, [])
    add("empty_file", "jsonl/empty_file.jsonl", b"", 0, [])
    add("gzip", "jsonl/gzip.jsonl.gz", gzip.compress(lines("gz")), 4, ["non_string_text"])
    add("gzip_members", "jsonl/gzip_members.jsonl.gz", gzip.compress(lines("m1")) + gzip.compress(_jsonl([], "m2")), 7,
        ["non_string_text"])  # fmt: skip
    add("zstd", "jsonl/zstd.jsonl.zst", zstandard.ZstdCompressor().compress(lines("zst")), 4, ["non_string_text"])
    add("truncated_gzip", "jsonl/truncated_gzip.jsonl.gz", gzip.compress(lines("tg") * 50)[:-30], 1, ["corrupt_file"])
    zst = zstandard.ZstdCompressor().compress(lines("tz") * 50)
    add("truncated_zstd", "jsonl/truncated_zstd.jsonl.zst", zst[: len(zst) // 2], 1, ["corrupt_file"])
    add("not_really_gzip", "jsonl/not_really_gzip.jsonl.gz", lines("ng"), 1, ["corrupt_file"])

    def parquet(table: pa.Table) -> bytes:
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf)
        return buf.getvalue().to_pybytes()

    good = ["a parquet document", "another one"]
    add("parquet_nulls", "parquet/nulls.parquet",
        parquet(pa.table({"id": ["p1", "p2", "p3", "p4"], "text": [good[0], None, "  ", good[1]]})), 4,
        ["empty_text", "missing_text"])  # fmt: skip
    add("parquet_binary_text", "parquet/binary.parquet",
        parquet(pa.table({"id": ["b1", "b2"], "text": pa.array([good[0].encode(), b"\xff\xfe"], pa.binary())})), 2,
        ["invalid_utf8"])  # fmt: skip
    add("parquet_int_text", "parquet/int_text.parquet", parquet(pa.table({"id": ["i1", "i2"], "text": [1, 2]})), 2,
        ["non_string_text", "non_string_text"])  # fmt: skip
    add("parquet_struct_text", "parquet/struct_text.parquet",
        parquet(pa.table({"id": ["s1"], "text": [{"a": "b"}]})), 1, ["non_string_text"])  # fmt: skip
    add("parquet_surrogate_free_nul", "parquet/nul.parquet",
        parquet(pa.table({"id": ["n1", "n2"], "text": ["x\x00y", "\x00"]})), 2, ["empty_text"])  # fmt: skip
    add("parquet_no_text_column", "parquet/no_text_column.parquet",
        parquet(pa.table({"id": ["c1"], "body": ["text under another name"]})), 1, ["corrupt_file"])  # fmt: skip
    full = parquet(pa.table({"id": [f"t{i}" for i in range(500)], "text": [f"row {i}" for i in range(500)]}))
    add("parquet_truncated", "parquet/truncated.parquet", full[: len(full) // 2], 1, ["corrupt_file"])
    add("parquet_not_parquet", "parquet/not_parquet.parquet", b"PAR1 this is not a parquet file", 1,
        ["corrupt_file"])  # fmt: skip

    add("text_plain", "text/plain.txt", b"a plain text document\n", 1, [])
    add("text_bom", "text/bom.md", b"\xef\xbb\xbf# a heading\n\nmarkdown with a byte-order mark", 1, [])
    add("text_invalid_utf8", "text/invalid.txt", b"latin-1 caf\xe9", 1, ["invalid_utf8"])
    add("text_empty", "text/empty.txt", b"", 1, ["empty_text"])
    add("text_nul_only", "text/nul_only.txt", b"\x00\x00\x00", 1, ["empty_text"])
    add("text_nul_inside", "text/nul_inside.txt", b"a\x00b text with a NUL", 1, [])
    add("text_crlf", "text/nested/deeper/crlf.txt", b"windows\r\nline ends\r\n", 1, [])
    (root / "text" / "ignored.bin").write_bytes(b"\x00binary, not a text suffix: not a record")
    outside = root.parent / "outside-the-source.txt"
    outside.write_text("a file outside the source folder")
    links: list[tuple[str, Callable[[Path], None], str]] = [
        ("link_outside", lambda p: p.symlink_to(outside), "link_outside_source"),
        ("link_dangling", lambda p: p.symlink_to(root / "text" / "nothing-here.txt"), "dangling_link"),
        ("link_loop", lambda p: p.symlink_to(p), "link_loop"),
    ]
    for kind, make, reason in links:
        make(root / "text" / f"{kind}.txt")
        cases.append(Case(kind, f"text/{kind}.txt", 1, [reason]))
    return cases


def build(root: Path) -> list[Case]:
    """Write every case under ``root/<NIGHT>/``; returns them (at least 30 kinds)."""
    night = root / NIGHT
    (night / "jsonl").mkdir(parents=True)
    cases = [_case_lines(night, k, bad, reasons) for k, (bad, reasons) in LINES.items()]
    return cases + _files(night)


def recipe_sources() -> list[dict]:
    return [
        {"name": "jl", "path": "{partition}/jsonl/*", "format": "jsonl", "timestamp_field": "ts"},
        {"name": "pq", "path": "{partition}/parquet/*.parquet", "format": "parquet"},
        {"name": "tx", "path": "{partition}/text", "format": "text", "id_field": None},
        {"name": "typo", "path": "{partition}/jsnol/*.jsonl", "format": "jsonl"},  # matches nothing: an error
    ]
