#!/usr/bin/env python3
"""Build the short-document benchmark corpus: >= 500k real documents of about 1 KB, as one JSONL file.

Why: web text after extraction averages about 1 KB a document, while the long-document corpus
(``build_bench_corpus.py``) averages 8 KB. Per-document costs (Python per batch, per-row
splitting, task overhead) hide on long documents and dominate on short ones, so every
benchmark reports both corpora.

Three kinds of real text, all from Debian packages (``fetch_debian_text.py`` downloads and caches them):

* **documentation**: every document of the long corpus's packages, cut at paragraph
  boundaries into pieces whose target length is drawn from a log-normal distribution
  (median 700 bytes; heavy right tail, as on the web), so short pages and long ones both occur;
* **dictionaries**: each entry of the dictd databases (GCIDE, WordNet, FOLDOC, Jargon,
  FreeDict bilingual dictionaries, ...) is one document;
* **fortunes**: each fortune cookie, in every language Debian ships, is one document.

Exact duplicate texts are dropped; documents are shuffled with a fixed seed. Nothing is
padded or synthesised. The corpus is a build artifact (default ``.winnow/bench/short.jsonl``);
a ``.stats.json`` beside it keeps the printed summary.

Usage: ``python scripts/corpus/build_short_corpus.py [--out PATH] [--min-docs 500000] [--force]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_bench_corpus as long_corpus
import fetch_debian_text as fdt
import noise

REPO = Path(__file__).resolve().parents[2]
SEED = 20261202
MIB = 1 << 20
MEDIAN_PIECE_BYTES = 700
PIECE_SIGMA = 0.9  # log-normal spread of piece lengths: mean about 1.5x the median
MIN_CHARS = 40  # shorter entries ("see FOO") are not documents
# Dictionaries have up to 500k entries of 200 bytes; uncapped they would swamp the corpus with
# tiny documents. Each contributes at most this many, those with the smallest key hash (spread
# over the alphabet, and the same on every build).
MAX_ENTRIES_PER_DICTIONARY = 25_000
DICT_PACKAGES = {
    "dict-gcide": "en",
    "dict-wn": "en",
    "dict-foldoc": "en",
    "dict-jargon": "en",
    "dict-vera": "en",
    "dict-devil": "en",
    "dict-freedict-deu-eng": "de",
    "dict-freedict-fra-eng": "fr",
    "dict-freedict-spa-eng": "es",
    "dict-freedict-ita-eng": "it",
    "dict-freedict-por-eng": "pt",
    "dict-freedict-nld-eng": "nl",
    "dict-freedict-pol-eng": "pl",
    "dict-freedict-swe-eng": "sv",
    "dict-freedict-eng-deu": "en",
    "dict-freedict-eng-fra": "en",
    "dict-freedict-eng-spa": "en",
}
FORTUNE_PACKAGES = {
    "fortunes": "en",
    "fortunes-min": "en",
    "fortunes-bofh-excuses": "en",
    "fortunes-debian-hints": "en",
    "fortune-anarchism": "en",
    "fortunes-mario": "en",
    "fortunes-de": "de",
    "fortunes-es": "es",
    "fortunes-it": "it",
    "fortunes-br": "pt",
    "fortunes-pl": "pl",
    "fortunes-ru": "ru",
    "fortunes-cs": "cs",
    "fortunes-bg": "bg",
    "fortunes-ga": "ga",
    "fortunes-eo": "eo",
    "fortunes-zh": "zh",
}
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_PARAGRAPH = re.compile(r"\n\s*\n")


def _dictd_number(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def _unpacked(package: str, cache: Path) -> tempfile.TemporaryDirectory:
    deb = fdt.fetch_deb(package, cache)
    tmp = tempfile.TemporaryDirectory(prefix="winnow-deb-")
    fdt._run(["dpkg-deb", "-x", str(deb), tmp.name])
    return tmp


def dict_entries(package: str, cache: Path) -> Iterator[tuple[str, str]]:
    """(key, text) of every entry of a dictd package's databases (``.index`` + ``.dict.dz``)."""
    with _unpacked(package, cache) as root:
        for index in sorted(Path(root).rglob("*.index")):
            data_path = index.with_name(index.name[: -len(".index")] + ".dict.dz")
            if not data_path.exists():
                continue
            data = gzip.decompress(data_path.read_bytes())  # dictzip is gzip
            seen: set[int] = set()
            for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split("\t")
                if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                    continue
                start = _dictd_number(parts[1])
                if start in seen:
                    continue  # several headwords point at one entry
                seen.add(start)
                text = data[start : start + _dictd_number(parts[2])].decode("utf-8", errors="replace").strip()
                yield f"{index.stem}@{start}", text


def fortunes(package: str, cache: Path) -> Iterator[tuple[str, str]]:
    """(key, text) of every fortune in a package (files split at ``%`` lines; offensive ones skipped)."""
    with _unpacked(package, cache) as root:
        for path in sorted(Path(root).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if (
                not path.is_file()
                or path.is_symlink()
                or "/fortunes" not in "/" + rel
                or "/off/" in rel
                or path.suffix in {".dat", ".u8", ".gz"}
                or "/doc/" in rel
            ):
                continue
            raw = path.read_bytes().decode("utf-8", errors="replace")
            if raw.count("\ufffd") > len(raw) / 100:
                continue  # not UTF-8 (a legacy encoding whose .u8 twin is a symlink)
            for i, text in enumerate(re.split(r"(?m)^%\s*$", raw)):
                yield f"{rel}#{i}", text.strip()


def pieces(doc: dict) -> Iterator[tuple[str, str]]:
    """A document cut at paragraph boundaries into pieces of log-normally drawn target lengths."""
    r = noise.rng_for(SEED, "cut", doc["id"])
    paragraphs = [p.strip() for p in _PARAGRAPH.split(doc["text"]) if p.strip()]
    target = MEDIAN_PIECE_BYTES * math.exp(r.gauss(0.0, PIECE_SIGMA))
    current: list[str] = []
    size = k = 0
    for p in paragraphs:
        current.append(p)
        size += len(p.encode()) + 2
        if size >= target:
            yield f"{doc['id']}~{k}", "\n\n".join(current)
            k += 1
            current, size = [], 0
            target = MEDIAN_PIECE_BYTES * math.exp(r.gauss(0.0, PIECE_SIGMA))
    if current:
        yield f"{doc['id']}~{k}", "\n\n".join(current)


def sources(cache: Path) -> Iterator[tuple[str, dict]]:
    """(source kind, document) for every candidate document, in a fixed order."""
    for pkg in long_corpus.BENCH_PACKAGES:
        for d in fdt.extract_package(pkg, cache):
            for key, text in pieces(d):
                yield (
                    "documentation",
                    {"id": key, "text": text, "url": f"{d['url']}~{key.rsplit('~', 1)[1]}", "lang": d["lang"]},
                )
    for pkg, lang in DICT_PACKAGES.items():
        entries = sorted(
            (hashlib.sha1(key.encode()).hexdigest(), key, text)
            for key, text in dict_entries(pkg, cache)
            if len(text) >= MIN_CHARS
        )
        for _, key, text in entries[:MAX_ENTRIES_PER_DICTIONARY]:
            yield (
                "dictionary",
                {
                    "id": f"{pkg}:{hashlib.sha1(key.encode()).hexdigest()[:16]}",
                    "text": text,
                    "url": f"deb://{pkg}/{key}",
                    "lang": lang,
                },
            )
    for pkg, lang in FORTUNE_PACKAGES.items():
        for key, text in fortunes(pkg, cache):
            yield (
                "fortune",
                {
                    "id": f"{pkg}:{hashlib.sha1(key.encode()).hexdigest()[:16]}",
                    "text": text,
                    "url": f"deb://{pkg}/{key}",
                    "lang": lang,
                },
            )


def build(out: Path, min_docs: int, cache: Path) -> dict:
    t0 = time.time()
    seen: set[bytes] = set()
    docs: list[dict] = []
    kinds: Counter = Counter()
    kind_bytes: Counter = Counter()
    for kind, d in sources(cache):
        if len(d["text"]) < MIN_CHARS:
            continue
        h = hashlib.sha1(d["text"].encode()).digest()
        if h in seen:
            continue
        seen.add(h)
        docs.append(d)
        kinds[kind] += 1
        kind_bytes[kind] += len(d["text"].encode())
    if len(docs) < min_docs:
        raise SystemExit(f"only {len(docs):,} unique real documents, fewer than --min-docs {min_docs:,}")
    docs.sort(key=lambda d: d["id"])
    noise.rng_for(SEED, "order").shuffle(docs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    langs: Counter = Counter()
    sizes = []
    with open(tmp, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
            sizes.append(len(d["text"].encode()))
            langs[d["lang"] or "unknown"] += 1
    os.replace(tmp, out)
    sizes.sort()
    total = sum(sizes)
    stats = {
        "path": str(out),
        "docs": len(docs),
        "text_mib": round(total / MIB, 1),
        "mean_bytes": round(total / len(docs)),
        "median_bytes": sizes[len(sizes) // 2],
        "p99_bytes": sizes[int(len(sizes) * 0.99)],
        "by_kind": {k: {"docs": kinds[k], "text_mib": round(kind_bytes[k] / MIB, 1)} for k in kinds},
        "languages": {lang: round(c / len(docs), 4) for lang, c in langs.most_common()},
        "build_seconds": round(time.time() - t0, 1),
    }
    long_corpus.stats_path(out).write_text(json.dumps(stats, indent=1, ensure_ascii=False) + "\n")
    return stats


def report(stats: dict, cached: bool) -> None:
    print(f"{'cached' if cached else 'built'}: {stats['path']}")
    print(
        f"  docs: {stats['docs']:,}   text: {stats['text_mib']} MiB   bytes per doc: mean {stats['mean_bytes']:,}, "
        f"median {stats['median_bytes']:,}, p99 {stats['p99_bytes']:,}"
    )
    for kind, v in stats["by_kind"].items():
        print(f"  {kind}: {v['docs']:,} docs, {v['text_mib']} MiB")
    mix = ", ".join(f"{k} {100 * v:.1f}%" for k, v in list(stats["languages"].items())[:15])
    print(f"  languages (by docs): {mix}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / ".winnow" / "bench" / "short.jsonl")
    ap.add_argument("--min-docs", type=int, default=500_000)
    ap.add_argument("--cache", type=Path, default=fdt.DEFAULT_CACHE)
    ap.add_argument("--force", action="store_true", help="rebuild even if the corpus exists")
    args = ap.parse_args(argv)
    if args.out.exists() and long_corpus.stats_path(args.out).exists() and not args.force:
        report(json.loads(long_corpus.stats_path(args.out).read_text()), cached=True)
        return 0
    report(build(args.out, args.min_docs, args.cache), cached=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
