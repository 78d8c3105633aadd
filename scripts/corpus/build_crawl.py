#!/usr/bin/env python3
"""A web crawl as WARC, built from real HTML pages: the sample crawl and the benchmark crawl.

The pages are the HTML manuals of Debian packages (``apt-get download``, unpacked with
``dpkg-deb -x``; cached like ``fetch_debian_text.py``): the Python 3.11 documentation and
the Debian Reference in English, Chinese and Japanese. Each page is served by a made-up
site on the reserved ``.example`` TLD, inside that site's chrome, so the crawl looks like
a crawl: a navigation menu, a cookie banner and a footer repeated on every page of a site.

Records are written the way crawlers write them: a ``warcinfo`` record, then per page a
``request`` and a ``response`` (HTTP/1.1 status line and headers, a correct
``Content-Length``), each record its own gzip member, WARC-Date on the night.

Crawl noise in the sample (``--sample``), each page a known case:
  * a Chinese page in GBK declared as GBK, and a Japanese page in Shift-JIS declared as UTF-8;
  * a PDF response, a PNG response, a 404 page, a 301 redirect, an empty 200 response;
  * 40 pages of a link farm (``deals-deals.example``, capped by ``max_docs_per_domain``), of a
    blocklisted ad domain, and a URL with a banned word.

Usage::

    build_crawl.py --sample data/sample/2026-11-24/crawl.warc.gz
    build_crawl.py --bench .winnow/bench/crawl --mb 200    # uncompressed WARC bytes, several files
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.corpus.fetch_debian_text import DEFAULT_CACHE, fetch_deb

NIGHT = "2026-11-24"
SEED = 20261124
PACKAGES = ("python3.11-doc", "debian-reference-en", "debian-reference-zh-cn", "debian-reference-ja")
SITES = {
    "python3.11-doc": ("docs.pylearn.example", "PyLearn Docs", "en"),
    "debian-reference-en": ("handbook.debfans.example", "DebFans Handbook", "en"),
    "debian-reference-zh-cn": ("zh.debfans.example", "DebFans 中文手册", "zh"),
    "debian-reference-ja": ("ja.debfans.example", "DebFans 日本語", "ja"),
}
_BODY = re.compile(rb"<body[^>]*>(.*)</body>", re.S | re.I)
_TITLE = re.compile(rb"<title>(.*?)</title>", re.S | re.I)


@dataclass
class Page:
    url: str
    status: str = "200 OK"
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def html_pages(cache: Path = DEFAULT_CACHE) -> Iterator[tuple[str, str, bytes]]:
    """(package, path inside the package, HTML bytes) of every HTML page, in a stable order."""
    for package in PACKAGES:
        deb = fetch_deb(package, cache)
        with tempfile.TemporaryDirectory(prefix="winnow-crawl-") as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            for p in sorted(Path(tmp).rglob("*.html")):
                if p.is_file() and not p.is_symlink():
                    yield package, p.relative_to(tmp).as_posix(), p.read_bytes()


def chrome(package: str, inner: bytes, title: bytes, charset: str = "utf-8") -> str:
    """The page's body inside its site's navigation, cookie banner and footer."""
    host, name, lang = SITES[package]
    body = inner.decode("utf-8", "replace")
    t = title.decode("utf-8", "replace").strip() or name
    nav = "".join(f'<li><a href="/{s}/">{s.title()}</a></li>' for s in ("home", "docs", "blog", "forum", "about"))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{t} | {name}</title>'
        '<meta name="viewport" content="width=device-width"><script>window.dataLayer=[];</script></head><body>'
        '<div id="cookie-consent" class="banner">We use cookies to personalise content and ads and to analyse '
        'our traffic. <a href="/privacy">Cookie policy</a> <button>Accept all</button> <button>Reject</button></div>'
        f'<header><a class="logo" href="/">{name}</a><nav><ul>{nav}</ul></nav>'
        '<form action="/search"><input name="q" placeholder="Search"></form></header>'
        f"<main>{body}</main>"
        f'<footer><p>© 2026 {name}. All rights reserved.</p><ul><li><a href="/privacy">Privacy</a></li>'
        '<li><a href="/terms">Terms of use</a></li><li><a href="/contact">Contact us</a></li></ul>'
        "<p>Follow us on social media for the latest updates.</p></footer></body></html>"
    )


#: the Python manual is served by several sites (mirrors and course sites), as a crawl finds it
PY_HOSTS = ("docs.pylearn.example", "py.learnhub.example", "python.codeschool.example",
            "ref.devnotes.example", "docs.snakepit.example", "manual.pyguide.example")  # fmt: skip


def site_page(package: str, rel: str, raw: bytes) -> Page:
    host = SITES[package][0]
    if package == "python3.11-doc":
        host = PY_HOSTS[int(hashlib.sha1(rel.encode()).hexdigest(), 16) % len(PY_HOSTS)]
    inner = m.group(1) if (m := _BODY.search(raw)) else raw
    title = m2.group(1) if (m2 := _TITLE.search(raw)) else b""
    path = rel.split("/html/", 1)[-1].split("/debian-reference/", 1)[-1]
    return Page(f"https://{host}/{path}", body=chrome(package, inner, title).encode("utf-8"))


def _rid(url: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, kind + ':' + url)}>"


def _record(kind: str, url: str, payload: bytes, content_type: str, date: str, extra: str = "") -> bytes:
    digest = "sha1:" + hashlib.sha1(payload).hexdigest()
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {_rid(url, kind)}\r\nWARC-Date: {date}\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Block-Digest: {digest}\r\n{extra}"
        f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload + b"\r\n\r\n"


def http_response(page: Page, date: str) -> bytes:
    lines = [f"HTTP/1.1 {page.status}", "Date: Tue, 24 Nov 2026 03:00:00 GMT", "Server: nginx"]
    if page.content_type:
        lines.append(f"Content-Type: {page.content_type}")
    lines += [f"{k}: {v}" for k, v in page.headers]
    lines.append(f"Content-Length: {len(page.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + page.body


def warc_members(pages: list[Page], second: int = 0) -> Iterator[bytes]:
    """gzip members: warcinfo, then a request and a response record per page."""
    info = b"software: winnow scripts/corpus/build_crawl.py\r\nformat: WARC File Format 1.0\r\n"
    yield gzip.compress(_record("warcinfo", "warcinfo:" + str(second), info, "application/warc-fields",
                                f"{NIGHT}T03:00:00Z"), mtime=0)  # fmt: skip
    for i, page in enumerate(pages):
        date = f"{NIGHT}T{3 + (second + i) // 3600 % 20:02d}:{(second + i) // 60 % 60:02d}:{(second + i) % 60:02d}Z"
        host = page.url.split("/")[2]
        req = f"GET /{page.url.split('/', 3)[-1]} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: winnow-sample-crawler\r\n\r\n"
        yield gzip.compress(_record("request", page.url, req.encode(), "application/http; msgtype=request", date),
                            mtime=0)  # fmt: skip
        yield gzip.compress(
            _record("response", page.url, http_response(page, date), "application/http; msgtype=response", date),
            mtime=0,
        )


def noise_pages(pages: list[tuple[str, str, bytes]]) -> list[Page]:
    """The sample's crawl-noise cases (see the module docstring)."""
    zh = next(raw for pkg, _rel, raw in pages if pkg == "debian-reference-zh-cn")
    ja = next(raw for pkg, _rel, raw in pages if pkg == "debian-reference-ja")
    zh_html = chrome("debian-reference-zh-cn", _BODY.search(zh).group(1), b"GBK", charset="gbk")  # type: ignore[union-attr]
    ja_html = chrome("debian-reference-ja", _BODY.search(ja).group(1), b"SJIS", charset="utf-8")  # type: ignore[union-attr]
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
    farm = [
        Page(
            f"https://deals-deals.example/cheap-offer-{i}.html",
            body=(
                f"<html><body><h1>Best deal {i}</h1><p>"
                + "Buy now and save big on top brands today. " * 20
                + "</p></body></html>"
            ).encode(),
        )  # fmt: skip
        for i in range(40)
    ]
    return [
        Page("https://zh.debfans.example/legacy-gbk.html", content_type="text/html; charset=gbk",
             body=zh_html.encode("gbk", "replace")),  # fmt: skip
        Page("https://ja.debfans.example/wrongly-declared.html", content_type="text/html; charset=utf-8",
             body=ja_html.encode("shift_jis", "replace")),  # fmt: skip
        Page("https://docs.pylearn.example/download/manual.pdf", content_type="application/pdf", body=pdf),
        Page("https://docs.pylearn.example/static/logo.png", content_type="image/png", body=png),
        Page("https://docs.pylearn.example/missing-page.html", status="404 Not Found",
             body=b"<html><body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>"),
        Page("https://docs.pylearn.example/old/index.html", status="301 Moved Permanently",
             headers=(("Location", "https://docs.pylearn.example/index.html"),), body=b""),
        Page("https://docs.pylearn.example/empty.html", body=b""),
        Page("https://ads.trackerhub.example/banner.html",
             body=b"<html><body><p>Click here to win a prize. This advertising network page is on a blocklist.</p></body></html>"),
        Page("https://handbook.debfans.example/casino-bonus-tips.html",
             body=b"<html><body><p>The best casino bonus tips for every player, updated daily.</p></body></html>"),
        *farm,
    ]  # fmt: skip


def build_sample(out: Path, n_python: int = 120, cache: Path = DEFAULT_CACHE) -> dict:
    """The committed sample crawl: real pages of every package plus the noise cases, one file."""
    pages = list(html_pages(cache))
    rng = random.Random(SEED)
    python = [p for p in pages if p[0] == "python3.11-doc" and len(p[2]) < 60_000 and "/_" not in p[1]]
    chosen = rng.sample(python, n_python)
    refs = [p for p in pages if p[0].startswith("debian-reference")]
    chosen += [p for p in refs if re.search(r"/ch0[1-3]\.", p[1])]
    site = [site_page(*p) for p in chosen] + noise_pages(pages)
    rng.shuffle(site)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        for member in warc_members(site):
            fh.write(member)
    return {"pages": len(site), "bytes": out.stat().st_size}


def build_bench(out_dir: Path, mb: float, cache: Path = DEFAULT_CACHE, files: int = 8) -> dict:
    """At least ``mb`` MB of (uncompressed) WARC over ``files`` files: every page, repeated on mirror sites."""
    pages = [p for p in html_pages(cache) if "/_" not in p[1]]
    out_dir.mkdir(parents=True, exist_ok=True)
    target, written, n, mirror = mb * 1e6, 0, 0, 0
    site: list[Page] = []
    while written < target:
        for pkg, rel, raw in pages:
            page = site_page(pkg, rel, raw)
            if mirror:
                host = page.url.split("/")[2]
                page.url = page.url.replace(host, f"mirror{mirror}.{host}", 1)
            site.append(page)
            written += len(page.body) + 700
            if written >= target:
                break
        mirror += 1
    per = -(-len(site) // files)
    raw_bytes = 0
    for f in range(files):
        chunk = site[f * per : (f + 1) * per]
        with open(out_dir / f"crawl-{f:02d}.warc.gz", "wb") as fh:
            for member in warc_members(chunk, second=f * per):
                raw_bytes += len(gzip.decompress(member))
                fh.write(member)
        n += len(chunk)
    return {"pages": n, "files": files, "warc_bytes": raw_bytes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=Path)
    ap.add_argument("--bench", type=Path)
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    if args.sample:
        print(build_sample(args.sample, cache=args.cache))
    if args.bench:
        print(build_bench(args.bench, args.mb, cache=args.cache))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
