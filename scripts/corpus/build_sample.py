#!/usr/bin/env python3
"""Build the bundled sample corpus in ``data/sample/`` from real Debian documentation.

Why: the demo, the tests and new developers need a small corpus that looks like a
nightly web crawl (several languages, boilerplate, spam, duplicates, PII, a few broken
rows) yet is made of real, redistributable text with a known origin. Text comes from
``fetch_debian_text.py``; the web-like noise from ``noise.py``. Everything is seeded
and inputs are sorted, so a rerun with the same package versions writes the same files
(gzip/zstd/parquet bytes included).

Output (two nightly partitions)::

    data/sample/2026-11-24/web.jsonl.gz        noisy web-like crawl (id, text, url, lang, fetched_at)
    data/sample/2026-11-24/web_extra.jsonl.zst  more crawl, with exactly 3 malformed lines
    data/sample/2026-11-24/docs.parquet        clean documentation (id, text, url, lang)
    data/sample/2026-11-24/manpages/*.txt|*.md rendered man pages, one file per document
    data/sample/2026-11-25/web.jsonl.gz        new crawl + 50 exact and 50 near copies of 11-24 pages
    data/sample/provenance.csv.gz              every document's origin and what noise it got
    data/sample/README.md                      provenance, licences and counts (generated)

Usage: ``python scripts/corpus/build_sample.py [--out data/sample] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch_debian_text as fdt
import noise

REPO = Path(__file__).resolve().parents[2]
SEED = 20261124
NIGHT1, NIGHT2 = "2026-11-24", "2026-11-25"
SAMPLE_PACKAGES = sorted(
    [
        "debian-reference-en", "debian-reference-de", "debian-reference-fr", "debian-reference-es",
        "debian-reference-it", "debian-reference-ja", "debian-reference-zh-cn", "debian-reference-pt",
        "debian-faq", "debian-faq-de", "debian-faq-fr", "debian-faq-ja", "debian-faq-zh-cn",
        "doc-debian", "maint-guide", "maint-guide-ja", "maint-guide-zh-cn", "gnu-standards",
        "python3.11-doc", "debian-handbook", "debian-policy", "developers-reference", "developers-reference-de",
        "developers-reference-fr", "developers-reference-ja", "git-doc", "postgresql-doc-15",
        "manpages", "manpages-dev", "manpages-de", "manpages-fr", "manpages-es", "manpages-ja", "manpages-zh", "manpages-pl",
        "manpages-ru",
    ]
)  # fmt: skip
# Share of source documents per language: mostly English, but every language well represented.
LANG_WEIGHTS = {
    "en": 0.52,
    "de": 0.09,
    "fr": 0.08,
    "es": 0.07,
    "ja": 0.07,
    "zh": 0.09,
    "it": 0.02,
    "pt": 0.02,
    "pl": 0.02,
    "ru": 0.02,
}
MANPAGE_FILES = {"en": 14, "de": 5, "fr": 4, "es": 3, "ja": 4, "zh": 4, "pl": 2, "ru": 2}  # manpages/ folder
N_WEB1, N_EXTRA, N_DOCS, N_WEB2 = 2000, 300, 380, 1500
N_DOCS_ALSO_IN_WEB, N_CROSS_EXACT, N_CROSS_NEAR = 20, 50, 50
MALFORMED_LINES = (41, 142, 233)  # 1-based line numbers in web_extra.jsonl.zst
CLIP_CHARS = 3000  # a sample doc is at most this long (CJK: half), cut at a paragraph break


def clip(text: str, lang: str | None) -> str:
    """Keep the sample small: cut long documents at a paragraph break near the limit."""
    limit = CLIP_CHARS // 2 if lang in ("ja", "zh") else CLIP_CHARS
    if len(text) <= limit:
        return text
    cut = text.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip()


def load_pool(cache: Path) -> dict[str, list[dict]]:
    """Clean docs of the sample packages per language, text-deduplicated, in a seeded
    order that alternates between packages (so no language is all man pages)."""
    seen: set[str] = set()
    by_lang_pkg: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for pkg in SAMPLE_PACKAGES:
        for d in sorted(fdt.extract_package(pkg, cache), key=lambda d: d["id"]):
            if d["lang"] not in LANG_WEIGHTS:
                continue
            d = dict(d, text=clip(d["text"], d["lang"]))
            if d["text"] in seen or len(d["text"]) < 200:
                continue
            seen.add(d["text"])
            by_lang_pkg[d["lang"]][pkg].append(d)
    pools = {}
    for lang in sorted(by_lang_pkg):
        queues = []
        for pkg in sorted(by_lang_pkg[lang]):
            q = by_lang_pkg[lang][pkg]
            noise.rng_for(SEED, "pool", pkg, lang).shuffle(q)
            queues.append(q)
        order = []
        while any(queues):
            for q in queues:
                if q:
                    order.append(q.pop())
        pools[lang] = order
    return pools


def draw(pools: dict[str, list[dict]], n: int, key: str, only: set[str] | None = None) -> list[dict]:
    """``n`` docs taken (removed) from the pools, languages drawn by ``LANG_WEIGHTS``."""
    rng = noise.rng_for(SEED, "draw", key)
    langs = [lang for lang in LANG_WEIGHTS if pools.get(lang)]
    out = []
    while len(out) < n and langs:
        lang = rng.choices(langs, [LANG_WEIGHTS[lang] for lang in langs])[0]
        pool = pools[lang]
        i = next((k for k, d in enumerate(pool) if only is None or d["package"] in only), None)
        if i is None:
            langs.remove(lang)
            continue
        out.append(pool.pop(i))
    return out


def fetched_at(night: str, doc_id: str) -> str:
    start = datetime.fromisoformat(night).replace(tzinfo=UTC)
    secs = noise.rng_for(SEED, "ts", doc_id).randrange(6 * 3600)
    return (start + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%SZ")


def web_line(d: dict, night: str) -> str:
    row = {"id": d["id"], "text": d["text"], "url": d["url"]}
    if d.get("lang"):
        row["lang"] = d["lang"]
    row["fetched_at"] = fetched_at(night, d["id"])
    return json.dumps(row, ensure_ascii=False)


def write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(("\n".join(lines) + "\n").encode())


def write_zst(path: Path, lines: list[str]) -> None:
    path.write_bytes(zstandard.ZstdCompressor(level=19).compress(("\n".join(lines) + "\n").encode()))


def man_filename(d: dict) -> str:
    """``deb://manpages-de/usr/share/man/de/man1/ls.1.gz`` -> ``ls.1.de``."""
    name = d["url"].rsplit("/", 1)[-1].removesuffix(".gz")
    return f"{name}.{d['lang']}"


def to_markdown(text: str) -> str:
    """Man page as Markdown: section headings (unindented lines) become ``##`` headings."""
    lines = text.split("\n")
    out = [f"# {lines[0].split()[0]}", ""]
    for ln in lines[1:]:
        out.append(f"## {ln.strip()}" if ln and not ln[0].isspace() and len(ln) < 60 else ln)
    return "\n".join(out)


def build(out: Path, cache: Path) -> dict:
    pools = load_pool(cache)
    man_pkgs = {p for p in SAMPLE_PACKAGES if p.startswith("manpages")}
    prov: list[dict] = []
    meta = {d["id"]: d for docs in pools.values() for d in docs}  # clean doc id -> doc (package, version, licence)

    def add_prov(partition: str, file: str, rows: list[dict]) -> None:
        for r in rows:
            prov.append({"partition": partition, "file": file, **r})

    n1 = out / NIGHT1
    # manpages/: real man pages, a few as Markdown
    man_docs = []
    for lang, k in MANPAGE_FILES.items():
        man_docs += draw({lang: pools.get(lang, [])}, k, f"man-{lang}", only=man_pkgs)
    (n1 / "manpages").mkdir(parents=True, exist_ok=True)
    man_rows = []
    for i, d in enumerate(sorted(man_docs, key=lambda d: d["id"])):
        as_md = i % 7 == 3
        fname = man_filename(d) + (".md" if as_md else ".txt")
        (n1 / "manpages" / fname).write_text((to_markdown(d["text"]) if as_md else d["text"]) + "\n", encoding="utf-8")
        man_rows.append(
            {
                "id": fname,
                "kind": "markdown_headings" if as_md else "real",
                "source_id": d["id"],
                "source_url": d["url"],
                "dup_of": "",
            }
        )
    add_prov(NIGHT1, "manpages/", man_rows)

    # night 1 web crawl
    web1, prov1 = noise.make_crawl(draw(pools, N_WEB1, "web1"), N_WEB1, f"{SEED}-web1")
    write_gz(n1 / "web.jsonl.gz", [web_line(d, NIGHT1) for d in web1])
    add_prov(NIGHT1, "web.jsonl.gz", prov1)

    # clean docs, 20 of which are also in the night-1 crawl untouched (a cross-source duplicate)
    docs = [{k: d[k] for k in ("id", "text", "url", "lang")} for d in draw(pools, N_DOCS, "docs")]
    doc_rows = [
        {"id": d["id"], "kind": "real", "source_id": d["id"], "source_url": d["url"], "dup_of": ""} for d in docs
    ]
    real1 = [(w, p) for w, p in zip(web1, prov1) if p["kind"] == "real"]
    for w, p in noise.rng_for(SEED, "docs-overlap").sample(real1, N_DOCS_ALSO_IN_WEB):
        src = meta[p["source_id"]]
        docs.append({"id": src["id"], "text": w["text"], "url": src["url"], "lang": src["lang"]})
        doc_rows.append(
            {
                "id": src["id"],
                "kind": "real_also_in_web",
                "source_id": src["id"],
                "source_url": src["url"],
                "dup_of": w["id"],
            }
        )
    order = sorted(range(len(docs)), key=lambda i: docs[i]["id"])
    docs, doc_rows = [docs[i] for i in order], [doc_rows[i] for i in order]
    table = pa.table({k: pa.array([d[k] for d in docs], pa.string()) for k in ("id", "text", "url", "lang")})
    pq.write_table(table, n1 / "docs.parquet", compression="zstd")
    add_prov(NIGHT1, "docs.parquet", doc_rows)

    # night 1 extra crawl (zstd) with three malformed lines for the quarantine demo
    extra, prov_x = noise.make_crawl(draw(pools, N_EXTRA, "extra"), N_EXTRA, f"{SEED}-extra")
    lines = [web_line(d, NIGHT1) for d in extra]
    victim = json.loads(lines[10])
    bad = [
        (
            web_line(dict(extra[20], id="wbad0000000000001"), NIGHT1)[: len(lines[20]) * 3 // 5],
            "malformed_truncated_json",
            "wbad0000000000001",
        ),
        (
            json.dumps(
                {
                    "id": "wbad0000000000002",
                    "text": 404,
                    "url": victim["url"] + "?p=2",
                    "lang": "en",
                    "fetched_at": victim["fetched_at"],
                }
            ),
            "malformed_text_is_number",
            "wbad0000000000002",
        ),
        (
            json.dumps(
                {
                    "id": "wbad0000000000003",
                    "url": victim["url"] + "?p=3",
                    "lang": "en",
                    "fetched_at": victim["fetched_at"],
                }
            ),
            "malformed_missing_text",
            "wbad0000000000003",
        ),
    ]
    x_rows = list(prov_x)
    for line_no, (raw, kind, bad_id) in zip(MALFORMED_LINES, bad):
        lines.insert(line_no - 1, raw)
        x_rows.insert(
            line_no - 1, {"id": bad_id, "kind": kind, "source_id": "", "source_url": "", "dup_of": f"line {line_no}"}
        )
    write_zst(n1 / "web_extra.jsonl.zst", lines)
    add_prov(NIGHT1, "web_extra.jsonl.zst", x_rows)

    # night 2: a new crawl plus exact and near copies of night-1 pages
    web2, prov2 = noise.make_crawl(draw(pools, N_WEB2, "web2"), N_WEB2, f"{SEED}-web2")
    base = [(w, p) for w, p in zip(web1, prov1) if p["kind"] in ("real", "boilerplate", "pii", "code")]
    picks = noise.rng_for(SEED, "cross-night").sample(base, N_CROSS_EXACT + N_CROSS_NEAR)
    for i, (w, p) in enumerate(picks):
        exact = i < N_CROSS_EXACT
        r = noise.rng_for(SEED, "cross", i)
        text = w["text"] if exact else noise.near_duplicate(w["text"], r)
        url = w["url"] if (not exact or i % 2) else w["url"] + "?utm_source=rss"
        new_id = f"w{noise.short_hash(SEED, 'cross', i, n=16)}"
        web2.append({"id": new_id, "text": text, "url": url, "lang": w["lang"]})
        kind = "cross_night_exact" if exact else "cross_night_near"
        prov2.append(
            {"id": new_id, "kind": kind, "source_id": p["source_id"], "source_url": p["source_url"], "dup_of": w["id"]}
        )
    order = list(range(len(web2)))
    noise.rng_for(SEED, "night2-order").shuffle(order)
    web2, prov2 = [web2[i] for i in order], [prov2[i] for i in order]
    write_gz(out / NIGHT2 / "web.jsonl.gz", [web_line(d, NIGHT2) for d in web2])
    add_prov(NIGHT2, "web.jsonl.gz", prov2)

    # provenance sidecar: package/version/licence of each doc's real source
    for r in prov:
        src = meta.get(r["source_id"]) or {}
        r.update(package=src.get("package", ""), version=src.get("version", ""), license=src.get("license") or "")
        r["lang"] = src.get("lang", "")
    with (
        open(out / "provenance.csv.gz", "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        fh = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        w = csv.DictWriter(
            fh,
            [
                "partition",
                "file",
                "id",
                "kind",
                "lang",
                "source_id",
                "source_url",
                "dup_of",
                "package",
                "version",
                "license",
            ],
            lineterminator="\n",
        )
        w.writeheader()
        w.writerows(prov)
        fh.flush()
        fh.detach()
    return {"prov": prov, "web1": web1, "web2": web2, "extra": extra, "docs": docs, "man": man_docs, "meta": meta}


# ----------------------------------------------------------------------------- README


def _lang_of(file_docs: list[dict]) -> Counter:
    return Counter(d.get("lang") or "none" for d in file_docs)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def write_readme(out: Path, res: dict) -> None:
    prov = res["prov"]
    files = [  # (path under out, partition, file as in provenance.csv, documents)
        (f"{NIGHT1}/web.jsonl.gz", NIGHT1, "web.jsonl.gz", res["web1"]),
        (f"{NIGHT1}/web_extra.jsonl.zst", NIGHT1, "web_extra.jsonl.zst", res["extra"]),
        (f"{NIGHT1}/docs.parquet", NIGHT1, "docs.parquet", res["docs"]),
        (f"{NIGHT1}/manpages/", NIGHT1, "manpages/", res["man"]),
        (f"{NIGHT2}/web.jsonl.gz", NIGHT2, "web.jsonl.gz", res["web2"]),
    ]
    all_langs = Counter()
    for *_, docs in files:
        all_langs.update(_lang_of(docs))
    total = sum(all_langs.values())
    langs = [lang for lang, _ in all_langs.most_common()]
    L = ["# Bundled sample corpus", ""]
    L += [
        "Generated by `scripts/corpus/build_sample.py` — do not edit by hand. Reproduce with:",
        "",
        "```",
        "python scripts/corpus/build_sample.py   # needs apt-get (downloads .deb files only), groff, zstandard, pyarrow",
        "```",
        "",
        "The text is **real documentation from Debian packages** (fetched with `apt-get download`, unpacked with",
        "`dpkg-deb -x`, HTML stripped with Python's `html.parser`, man pages rendered with `groff -Tutf8 -mandoc`;",
        "see `scripts/corpus/fetch_debian_text.py`). The web-crawl look — boilerplate, spam, duplicates, fake PII — is",
        f"**synthesized** by `scripts/corpus/noise.py` (seed `{SEED}`). Nothing in the text marks a document as synthetic;",
        "`provenance.csv.gz` records, for every document, its source package/path and which noise (`kind`) it got.",
        "",
        "## Files and counts",
        "",
        "| file | docs | bytes on disk | " + " | ".join(langs) + " |",
        "|---|---:|---:|" + "---:|" * len(langs),
    ]
    for name, *_, docs in files:
        c = _lang_of(docs)
        L.append(
            f"| `{name}` | {len(docs)} | {_size(out / name):,} | " + " | ".join(str(c.get(x, 0)) for x in langs) + " |"
        )
    disk = sum(_size(out / f[0]) for f in files)
    L.append(
        f"| **total** | **{total}** | **{disk:,}** | "
        + " | ".join(f"{100 * all_langs[x] / total:.1f}%" for x in langs)
        + " |"
    )
    L += [
        "",
        "The docs count of `web_extra.jsonl.zst` excludes its 3 malformed lines (see below).",
        "",
        "`lang` is the language of the source package or path (e.g. `manpages-de`, `html/zh-CN/`), not a detector's",
        "guess; synthetic spam is `en` and lorem ipsum has no `lang` key. `web*.jsonl*` rows are",
        "`{id, text, url, lang?, fetched_at}`; `docs.parquet` has columns `id, text, url, lang`; each `manpages/` file is",
        "one document. URLs of web rows are pseudo-URLs on the reserved `.example` TLD",
        "(`https://<package>.example/<path>`); `docs.parquet` keeps `deb://<package>/<path>`.",
        "",
        "Two things are real, not synthetic, and worth knowing: some translated manuals are only partly translated, so",
        "a page labelled `de` or `zh` can contain English paragraphs; and the documents carry their authors' and",
        "translators' public e-mail addresses (as printed in Debian's documentation) besides the fake injected PII.",
        "",
        "## Deliberately malformed rows",
        "",
        f"`{NIGHT1}/web_extra.jsonl.zst` has exactly three broken lines, so the quarantine shows up in the demo:",
        "",
    ]
    for r in prov:
        if r["kind"].startswith("malformed"):
            L.append(f"- {r['dup_of']}: `{r['kind']}` (id `{r['id']}`)")
    L += [
        "",
        "Every other line in every file is valid JSON with a string `text`.",
        "",
        "## Synthesized noise (`scripts/corpus/noise.py`)",
        "",
        "| kind | what was done | " + " | ".join(f[0] for f in files) + " |",
        "|---|---|" + "---:|" * len(files),
    ]
    what = {
        "real": "real document, text unchanged (only clipped, see below)",
        "boilerplate": "real document wrapped in navigation / cookie-banner / 'JavaScript required' / footer lines (in the page's language)",
        "pii": "as boilerplate, plus 1-3 sentences with fake PII: `name@example.com/.org/.net` e-mails, `+1 555-01xx` phones, RFC 5737 documentation IPv4 addresses, card test numbers such as 4111 1111 1111 1111",
        "spam": "fully synthetic ad spam: repeated 'BUY NOW cheap …' lines and keyword stuffing",
        "lorem": "fully synthetic lorem ipsum page",
        "stub": "very short page: an error/placeholder string or the first few words of a real document",
        "bullets": "real document turned into a bullet list (one sentence per item)",
        "code": "real document with leaked JavaScript / CSS / JSON-LD / template snippets (curly braces) and boilerplate",
        "exact_dup": "byte-identical copy of another page of the same file, at another URL",
        "near_dup": "copy of another page of the same file with 5-15% of words (CJK: characters) replaced, dropped, doubled or misspelt, and sometimes adjacent lines swapped",
        "cross_night_exact": f"exact copy of a {NIGHT1} page (new id; same URL or a `?utm_source` variant)",
        "cross_night_near": f"near copy (as near_dup) of a {NIGHT1} page, same URL",
        "real_also_in_web": f"clean doc whose text also appears untouched in {NIGHT1}/web.jsonl.gz (cross-source duplicate)",
        "markdown_headings": "man page written as Markdown (`#`/`##` headings added)",
        "malformed_truncated_json": "a real crawl line cut off mid-JSON",
        "malformed_text_is_number": "`text` is the number 404",
        "malformed_missing_text": "no `text` field",
    }
    counts = Counter((r["partition"], r["file"], r["kind"]) for r in prov)
    for kind, desc in what.items():
        L.append(f"| `{kind}` | {desc} | " + " | ".join(str(counts.get((f[1], f[2], kind), 0)) for f in files) + " |")
    L += [
        "",
        f"Real documents are clipped to at most {CLIP_CHARS} characters ({CLIP_CHARS // 2} for Chinese and Japanese) at a",
        "paragraph break, to keep the sample small; long HTML pages were already split at headings by the fetcher.",
        "Source documents are deduplicated by exact text before sampling, so every duplicate in the sample is one of the",
        "kinds above — except that Debian itself ships some near-identical texts (e.g. the simplified and traditional",
        "Chinese man pages, successive versions of the Debian constitution), which are left as they are.",
        "",
        "## Source packages and licences",
        "",
        "Licence = the first `License:` field of the package's `/usr/share/doc/<package>/copyright` (for copyright files",
        "that are not machine-readable: the well-known licence they name). Check that file for the full terms; the man",
        "page collections in particular carry many per-file licences.",
        "",
        "| package | version | licence | sample docs derived from it |",
        "|---|---|---|---:|",
    ]
    used = Counter(r["package"] for r in prov if r["package"])
    pkg_info = {}
    for d in res["meta"].values():
        pkg_info.setdefault(d["package"], (d["version"], d["license"] or "see copyright file"))
    for pkg in SAMPLE_PACKAGES:
        if pkg in pkg_info:
            v, lic = pkg_info[pkg]
            L.append(f"| {pkg} | {v} | {lic} | {used.get(pkg, 0)} |")
    L += [
        "",
        "## provenance.csv.gz",
        "",
        "One row per document: `partition, file, id, kind, lang, source_id, source_url, dup_of, package, version, license`.",
        "`source_id`/`source_url` name the real Debian document (`deb://<package>/<path>[#s<n>]`, `#s<n>` = n-th",
        "heading-aligned chunk of a long HTML page); they are empty for fully synthetic pages (`spam`, `lorem`,",
        "malformed rows). `dup_of` is the id of the copied page (for malformed rows: the line number). For",
        "`manpages/` the `id` is the file name (the ingest derives the document id from the content).",
        "",
    ]
    (out / "README.md").write_text("\n".join(L), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "data" / "sample")
    ap.add_argument("--cache", type=Path, default=fdt.DEFAULT_CACHE)
    args = ap.parse_args(argv)
    for night in (NIGHT1, NIGHT2):  # start clean so stale files never linger
        for p in sorted((args.out / night).rglob("*"), reverse=True) if (args.out / night).exists() else []:
            p.unlink() if p.is_file() else p.rmdir()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "provenance.csv").unlink(missing_ok=True)  # older, uncompressed name
    res = build(args.out, args.cache)
    write_readme(args.out, res)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    kinds = Counter(r["kind"] for r in res["prov"])
    print(f"wrote {len(res['prov'])} documents to {args.out} ({total / 1e6:.2f} MB on disk)")
    print("kinds:", dict(sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
