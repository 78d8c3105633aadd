"""Crawl ingest (#15): WARC responses and WET conversions become documents; every bad record goes
to quarantine with its reason, file and offset, and the records after it are still read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from schemas.recipe import Recipe
from scripts.corpus.build_crawl import Page, _record, http_response, warc_members
from winnow.ingest import ingest_partition

P = "2026-11-24"
DATE = f"{P}T03:00:00Z"


def _page(i: int, **kw) -> Page:
    body = f"<html><body><nav>Home | Docs</nav><article><h1>Page {i}</h1><p>{f'Real words of page {i}. ' * 12}</p></article></body></html>"
    return Page(f"https://site{i % 3}.example/p{i}.html", body=body.encode(), **kw)


def _response(page: Page, rid: str | None = None, length: int | None = None) -> bytes:
    payload = http_response(page, DATE)
    rec = _record("response", page.url, payload, "application/http; msgtype=response", DATE)
    if rid:
        rec = rec.replace(rec[rec.index(b"<urn:") : rec.index(b">") + 1], rid.encode(), 1)
    if length is not None:
        rec = rec.replace(
            f"Content-Length: {len(payload)}\r\n\r\n".encode(), f"Content-Length: {length}\r\n\r\n".encode(), 1
        )
    return rec


def _ingest(tmp_path: Path, files: dict[str, bytes], fmt: str = "warc", crawl: dict | None = None, pattern: str = "*"):
    d = tmp_path / "in" / P
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    src = {"name": "cc", "path": f"{{partition}}/{pattern}", "format": fmt, "crawl": crawl or {}}
    recipe = Recipe.model_validate({"name": "t", "version": 1, "sources": [src]})
    res = ingest_partition(recipe, tmp_path / "in", P, tmp_path / "work")
    return res.documents.collect(), res.quarantine.collect()


def test_responses_become_documents_with_their_crawl_fields(tmp_path):
    pages = [_page(i) for i in range(4)]
    docs, q = _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members(pages))})
    assert q.height == 0 and docs.height == 4  # warcinfo and request records are bookkeeping, not documents
    row = docs.sort("source_line").row(0, named=True)
    meta = json.loads(row["metadata"])
    assert row["url"] == pages[0].url and row["doc_id"].startswith("cc:urn:uuid:")
    assert str(row["created_at"]).startswith("2026-11-24 03:00")
    assert meta["http_status"] == 200 and meta["content_type"] == "text/html" and meta["charset"] == "utf-8"
    assert meta["warc_record_id"].startswith("<urn:uuid:") and meta["warc_offset"] > 0 and "html" not in meta
    assert "Real words of page 0." in row["text"]
    # the offset finds the record again: its gzip member starts there
    raw = (tmp_path / "in" / P / "a.warc.gz").read_bytes()[meta["warc_offset"] :]
    assert pages[0].url.encode() in gzip.GzipFile(fileobj=__import__("io").BytesIO(raw)).read(2000)


@pytest.mark.parametrize("compressed", [False, True])
def test_each_bad_record_is_quarantined_with_its_reason_and_the_rest_is_read(tmp_path, compressed):
    good = [_page(i) for i in range(8)]
    big = Page(
        "https://big.example/huge.html", body=b"<html><body><p>" + b"x " * (6 * 1024 * 1024) + b"</p></body></html>"
    )
    not_http = _record("response", "https://raw.example/", b"no HTTP status line here", "text/plain", DATE)
    records = [
        _response(good[0]),
        _response(good[1], length=99_999),  # Content-Length says more than the record holds
        _response(good[2]),
        _response(good[3], length=40),  # ... and less
        not_http,
        _response(Page("https://x.example/doc.pdf", content_type="application/pdf", body=b"%PDF-1.4 ...")),
        _response(Page("https://x.example/pic.png", content_type="image/png", body=b"\x89PNG\r\n\x1a\n")),
        _response(Page("https://x.example/empty.html", body=b"")),
        _response(
            Page("https://x.example/odd.html", content_type="text/html; charset=x-klingon", body=b"\x81\x8d\x8f" * 400)
        ),
        _response(big),
        _response(good[4], rid="<urn:uuid:00000000-0000-0000-0000-000000000001>"),
        _response(good[5], rid="<urn:uuid:00000000-0000-0000-0000-000000000001>"),  # the same WARC-Record-ID
        _response(good[6]),
    ]
    if compressed:
        data = b"".join(gzip.compress(r) for r in records)
        data += gzip.compress(_response(good[7]))[:-25]  # a cut last gzip member
        name = "crawl.warc.gz"
    else:
        data = b"".join(records) + _response(good[7])[:-200]  # the file ends inside a record
        name = "crawl.warc"
    docs, q = _ingest(tmp_path, {name: data}, crawl={"max_page_mb": 5})
    assert sorted(q["reason"]) == sorted(
        ["content_length_mismatch", "content_length_mismatch", "non_http_record", "non_html_payload",
         "non_html_payload", "empty_payload", "undecodable_charset", "page_too_large", "duplicate_id",
         "truncated_record"]
    )  # fmt: skip
    assert sorted(docs["url"]) == sorted(p.url for p in (good[0], good[2], good[4], good[6]))  # resynchronised
    located = q.filter(pl.col("reason") != "duplicate_id")
    assert located["message"].str.contains(rf"{name}:\d+: offset \d+: ").all()  # file, record and offset
    dup = q.filter(pl.col("reason") == "duplicate_id")["message"][0]
    assert "doc_id 'cc:urn:uuid:00000000-0000-0000-0000-000000000001' already used" in dup
    assert docs.height + q.height == len(records) + 1


def test_url_rules_run_before_extraction_with_their_reasons(tmp_path):
    blocklist = tmp_path / "in" / "block.txt"
    blocklist.parent.mkdir(parents=True)
    blocklist.write_text("# ads\nads.example\nsite1.example/private/\n")
    pages = [
        Page("https://cdn.ads.example/x.html", body=b"<p>ad</p>"),
        Page("https://site1.example/private/a.html", body=b"<p>private</p>"),
        Page("https://site2.example/best-casino-tips.html", body=b"<p>casino</p>"),
        Page(
            "https://site2.example/essex-news.html", body=b"<html><body><p>News from Essex, a county.</p></body></html>"
        ),
        *[
            Page(f"https://farm.example/{i}.html", body=b"<html><body><p>Buy now, cheap.</p></body></html>")
            for i in range(5)
        ],
    ]
    crawl = {"url_blocklists": ["block.txt"], "banned_url_words": ["casino", "sex"], "max_docs_per_domain": 3}
    docs, q = _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members(pages))}, crawl=crawl)
    assert dict(q.group_by("reason").len().iter_rows()) == {
        "url_blocked_domain": 1, "url_blocked": 1, "url_banned_word": 1, "domain_cap": 2
    }  # fmt: skip
    assert sorted(docs["url"]) == sorted([pages[3].url, *[p.url for p in pages[4:7]]])  # "sex" is not a token of essex


def test_charsets_declared_right_wrong_or_not_at_all(tmp_path):
    zh = "<html><body><p>" + "数据清洗与质量评估是训练大模型的基础工作。" * 20 + "</p></body></html>"
    ja = "<html><body><p>" + "日本語のテキストはシフトJISで符号化されています。" * 20 + "</p></body></html>"
    pages = [
        Page("https://a.example/gbk.html", content_type="text/html; charset=gbk", body=zh.encode("gbk")),
        Page("https://a.example/sjis.html", content_type="text/html; charset=utf-8", body=ja.encode("shift_jis")),
        Page(
            "https://a.example/meta.html",
            content_type="text/html",
            body=zh.replace("<html>", '<html><head><meta charset="gb18030"></head>').encode("gb18030"),
        ),  # fmt: skip
    ]
    docs, q = _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members(pages))}, crawl={"keep_html": True})
    assert q.height == 0
    by_url = {r["url"]: (r["text"], json.loads(r["metadata"])) for r in docs.iter_rows(named=True)}
    text, meta = by_url["https://a.example/gbk.html"]
    assert "数据清洗" in text and meta["charset"] == "gbk"
    text, meta = by_url["https://a.example/sjis.html"]
    assert "日本語" in text and meta["charset_declared"] == "utf-8" and meta["charset"] == "shift_jis"
    text, meta = by_url["https://a.example/meta.html"]
    assert "数据清洗" in text and meta["charset_declared"] == "gb18030" and "<p>" in meta["html"]


def test_trafilatura_is_the_other_extractor_and_wet_files_are_read_as_text(tmp_path):
    docs, _q = _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members([_page(1)]))}, crawl={"extractor": "trafilatura"})
    assert "Real words of page 1." in docs["text"][0]
    wet = _record(
        "conversion", "https://w.example/1", b"Plain extracted text, line one.\nLine two.", "text/plain", DATE
    )
    info = _record("warcinfo", "warcinfo:1", b"software: x\r\n", "application/warc-fields", DATE)
    docs, q = _ingest(tmp_path / "wet", {"a.warc.wet.gz": gzip.compress(info) + gzip.compress(wet)}, fmt="wet")
    assert q.height == 0 and docs["text"].to_list() == ["Plain extracted text, line one.\nLine two."]
    assert docs["url"].to_list() == ["https://w.example/1"]


def test_lines_repeated_across_a_sites_pages_are_removed_as_boilerplate(tmp_path):
    def page(host: str, i: int) -> Page:
        body = (f"<html><body><main><p>Subscribe to our newsletter for weekly tips.</p><h1>Article {i}</h1>"
                f"<p>{f'Unique content of article {i} on {host}. ' * 8}</p>"
                "<p>Share this page with your friends.</p></main></body></html>")  # fmt: skip
        return Page(f"https://{host}/a{i}.html", body=body.encode())

    pages = [page("blog.example", i) for i in range(4)] + [page("other.example", i) for i in range(2)]
    docs, _q = _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members(pages))})
    blog = docs.filter(pl.col("url").str.contains("blog.example"))
    assert not blog["text"].str.contains("newsletter|Share this page").any()
    assert blog["text"].str.contains("Unique content of article").all()
    assert {json.loads(m)["site_boilerplate_lines"] for m in blog["metadata"]} == {2}
    other = docs.filter(pl.col("url").str.contains("other.example"))  # 2 pages: under the 3-document threshold
    assert other["text"].str.contains("newsletter").all()


def test_files_read_on_two_processes_give_the_same_night_and_the_cap_spans_files(tmp_path):
    pages = [
        Page(f"https://farm.example/{i}.html", body=f"<html><body><p>Offer {i}, buy now.</p></body></html>".encode())
        for i in range(6)
    ]
    files = {f"f{k}.warc.gz": b"".join(warc_members(pages[k * 3 : (k + 1) * 3], second=k * 3)) for k in range(2)}
    d = tmp_path / "in" / P
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    src = {"name": "cc", "path": "{partition}/*.warc.gz", "format": "warc", "crawl": {"max_docs_per_domain": 4}}
    recipe = Recipe.model_validate({"name": "t", "version": 1, "sources": [src]})
    one = ingest_partition(recipe, tmp_path / "in", P, tmp_path / "w1")
    two = ingest_partition(recipe, tmp_path / "in", P, tmp_path / "w2", workers=2)
    a, b = one.documents.collect(), two.documents.collect()
    assert a.drop("ingested_at").equals(b.drop("ingested_at")) and a.height == 4  # the first 4 in file order
    assert sorted(a["url"]) == sorted(p.url for p in pages[:4])
    qa, qb = one.quarantine.collect(), two.quarantine.collect()
    assert qa.equals(qb) and qa["reason"].to_list() == ["domain_cap", "domain_cap"]


def test_arc_files_are_read_like_warc(tmp_path):
    pages = [_page(i) for i in range(3)]

    def arc_record(url: str, payload: bytes) -> bytes:
        return f"{url} 10.0.0.1 20261124030000 text/html {len(payload)}\n".encode() + payload + b"\n"

    desc = b"1 0 Winnow\nURL IP-address Archive-date Content-type Archive-length\n"
    head = f"filedesc://sample.arc 0.0.0.0 20261124030000 text/plain {len(desc)}\n".encode() + desc + b"\n"
    records = [arc_record(p.url, http_response(p, DATE)) for p in pages]
    docs, q = _ingest(tmp_path, {"a.arc.gz": b"".join(gzip.compress(r) for r in [head, *records])})
    assert q.height == 0 and sorted(docs["url"]) == sorted(p.url for p in pages)
    assert str(docs["created_at"][0]).startswith("2026-11-24 03:00:00")
    plain, q2 = _ingest(tmp_path / "plain", {"a.arc": head + b"".join(records)[:-300]})  # cut inside the last record
    assert plain.height == 2 and q2["reason"].to_list() == ["truncated_record"]


def test_a_missing_blocklist_stops_the_night_naming_it(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"source cc: crawl.url_blocklists names .*nope.txt, which does not exist"
    ):
        _ingest(tmp_path, {"a.warc.gz": b"".join(warc_members([_page(1)]))}, crawl={"url_blocklists": ["nope.txt"]})


def test_a_file_of_junk_is_reported_in_bounded_pieces_and_a_record_after_it_is_read(tmp_path):
    junk = bytes(range(256)).replace(b"W", b"w") * 20_000  # 5 MB with no WARC header
    data = junk + _response(_page(1))
    docs, q = _ingest(tmp_path, {"junk.warc": data})
    assert docs.height == 1 and set(q["reason"]) == {"unframed_bytes"} and q.height >= 3
