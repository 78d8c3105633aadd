#!/usr/bin/env python3
"""Build the benchmark corpus: >= 200 MiB of real text from Debian documentation, as one JSONL file.

Why: throughput numbers mean little on a toy corpus, and synthetic text compresses,
tokenizes and deduplicates unlike real text. This collects every document of many
Debian documentation packages (all ``manpages-*`` languages, ``*-doc`` HTML manuals,
Debian's own books and references) through ``fetch_debian_text.py``, drops exact
duplicate texts, shuffles them with a fixed seed and writes ``{id, text, url, lang}``
lines. Only if the real unique text falls short of ``--min-mb`` is it padded with
noisy/near-duplicate variants from ``noise.py`` (and the summary says how much).

The corpus is a build artifact (default ``.winnow/bench/corpus.jsonl``, not committed);
it is rebuilt only when missing or with ``--force``. A ``.stats.json`` file next to it
keeps the summary that is printed.

Usage: ``python scripts/corpus/build_bench_corpus.py [--out PATH] [--min-mb 200] [--force]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch_debian_text as fdt
import noise

REPO = Path(__file__).resolve().parents[2]
SEED = 20261125
MIB = 1 << 20
BENCH_PACKAGES = sorted(
    [
        # man pages, every language Debian ships
        "manpages", "manpages-dev", "manpages-cs", "manpages-da", "manpages-de", "manpages-de-dev", "manpages-es",
        "manpages-es-dev", "manpages-fi", "manpages-fr", "manpages-fr-dev", "manpages-hu", "manpages-it",
        "manpages-it-dev", "manpages-ja", "manpages-ja-dev", "manpages-nl", "manpages-pl", "manpages-pl-dev",
        "manpages-ro", "manpages-ru", "manpages-sv", "manpages-uk", "manpages-zh",
        # Debian's books, in their translations
        "debian-handbook", "debian-history", "debian-policy", "doc-debian", "debmake-doc", "harden-doc",
        "debian-reference-en", "debian-reference-de", "debian-reference-es", "debian-reference-fr",
        "debian-reference-it", "debian-reference-ja", "debian-reference-pt", "debian-reference-zh-cn",
        "debian-reference-zh-tw",
        "debian-faq", "debian-faq-de", "debian-faq-fr", "debian-faq-it", "debian-faq-ja", "debian-faq-ko",
        "debian-faq-nl", "debian-faq-pt", "debian-faq-ru", "debian-faq-zh-cn",
        "developers-reference", "developers-reference-de", "developers-reference-fr", "developers-reference-it",
        "developers-reference-ja", "developers-reference-ru",
        "maint-guide", "maint-guide-de", "maint-guide-es", "maint-guide-fr", "maint-guide-it", "maint-guide-ja",
        "maint-guide-ru", "maint-guide-zh-cn", "maint-guide-zh-tw",
        # upstream manuals
        "python3.11-doc", "linux-doc-6.1", "postgresql-doc-15", "git-doc", "apache2-doc", "perl-doc", "glibc-doc",
        "bash-doc", "gnu-standards", "gettext-doc", "gnuplot-doc", "tcl8.6-doc", "tk8.6-doc", "cmake-doc",
        "python-django-doc", "python-sqlalchemy-doc", "nodejs-doc", "vim-doc", "sqlite3-doc", "zsh-doc", "bind9-doc",
        "octave-doc", "lilypond-doc-html-de", "lilypond-doc-html-ja", "lilypond-doc-html-zh",
    ]
)  # fmt: skip
PAD_KINDS = ("near_dup", "boilerplate", "pii", "code", "bullets")


def stats_path(out: Path) -> Path:
    return out.with_name(out.name + ".stats.json")


def pad_variant(doc: dict, k: int) -> dict:
    """The k-th noisy variant of a real document, for padding only."""
    kind = PAD_KINDS[k % len(PAD_KINDS)]
    r = noise.rng_for(SEED, "pad", doc["id"], k)
    text = doc["text"]
    if kind == "near_dup":
        text = noise.near_duplicate(text, r)
    elif kind == "boilerplate":
        text = noise.add_boilerplate(text, doc["lang"], r)
    elif kind == "pii":
        text, _ = noise.inject_pii(text, r)
    elif kind == "code":
        text = noise.add_code(text, r)
    else:
        text = noise.bulletize(text, r)
    return {"id": f"pad{k}-{doc['id']}", "text": text, "url": f"{doc['url']}?variant={k}", "lang": doc["lang"]}


def build(out: Path, min_mb: float, cache: Path, max_mb: float | None = None) -> dict:
    t0 = time.time()
    seen: set[bytes] = set()
    docs: list[dict] = []
    per_pkg: dict[str, int] = {}
    have = 0
    for pkg in BENCH_PACKAGES:
        if max_mb is not None and have >= max_mb * MIB:
            break  # a smaller corpus (tests): only the first packages are downloaded
        n = 0
        for d in fdt.extract_package(pkg, cache):
            h = hashlib.sha1(d["text"].encode()).digest()
            if h in seen:
                continue
            seen.add(h)
            docs.append({"id": d["id"], "text": d["text"], "url": d["url"], "lang": d["lang"]})
            have += len(d["text"].encode())
            n += 1
        per_pkg[pkg] = n
        print(f"  {pkg}: {n} unique docs", flush=True)
    t_fetch = time.time() - t0
    docs.sort(key=lambda d: d["id"])
    noise.rng_for(SEED, "order").shuffle(docs)
    real_bytes = sum(len(d["text"].encode()) for d in docs)
    target = int(min_mb * MIB)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    langs: Counter = Counter()
    text_bytes = n_docs = n_pad = pad_bytes = 0
    with open(tmp, "w", encoding="utf-8") as fh:

        def emit(d: dict) -> None:
            nonlocal text_bytes, n_docs
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
            text_bytes += len(d["text"].encode())
            n_docs += 1
            langs[d["lang"] or "unknown"] += 1

        for d in docs:
            emit(d)
        k = 0
        while text_bytes < target:  # only when real unique text is short of the target
            for d in docs:
                if text_bytes >= target:
                    break
                v = pad_variant(d, k)
                emit(v)
                n_pad += 1
                pad_bytes += len(v["text"].encode())
            k += 1
    os.replace(tmp, out)
    stats = {
        "path": str(out),
        "docs": n_docs,
        "text_mib": round(text_bytes / MIB, 1),
        "file_mib": round(out.stat().st_size / MIB, 1),
        "real_unique_docs": len(docs),
        "real_unique_text_mib": round(real_bytes / MIB, 1),
        "real_unique_share": round(real_bytes / text_bytes, 3),
        "padding_docs": n_pad,
        "padding_text_mib": round(pad_bytes / MIB, 1),
        "languages": {lang: round(c / n_docs, 4) for lang, c in langs.most_common()},
        "packages": per_pkg,
        "build_seconds": round(time.time() - t0, 1),
        "extract_seconds": round(t_fetch, 1),
    }
    stats_path(out).write_text(json.dumps(stats, indent=1, ensure_ascii=False) + "\n")
    return stats


def report(stats: dict, cached: bool) -> None:
    print(f"{'cached' if cached else 'built'}: {stats['path']}")
    print(f"  docs: {stats['docs']:,}   text: {stats['text_mib']} MiB   file: {stats['file_mib']} MiB")
    print(
        f"  real unique: {stats['real_unique_docs']:,} docs, {stats['real_unique_text_mib']} MiB ({100 * stats['real_unique_share']:.1f}% of text)"
    )
    if stats["padding_docs"]:
        print(
            f"  PADDED with {stats['padding_docs']:,} noisy/near-duplicate variants of real docs ({stats['padding_text_mib']} MiB)"
        )
    mix = ", ".join(f"{k} {100 * v:.1f}%" for k, v in list(stats["languages"].items())[:15])
    print(f"  languages (by docs): {mix}")
    print(f"  build time: {stats['build_seconds']} s (extracting text: {stats['extract_seconds']} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / ".winnow" / "bench" / "corpus.jsonl")
    ap.add_argument("--min-mb", type=float, default=200.0, help="minimum text size in MiB")
    ap.add_argument("--max-mb", type=float, default=None, help="stop downloading packages past this much text")
    ap.add_argument("--cache", type=Path, default=fdt.DEFAULT_CACHE)
    ap.add_argument("--force", action="store_true", help="rebuild even if the corpus exists")
    args = ap.parse_args(argv)
    if args.out.exists() and stats_path(args.out).exists() and not args.force:
        report(json.loads(stats_path(args.out).read_text()), cached=True)
        return 0
    report(build(args.out, args.min_mb, args.cache, args.max_mb), cached=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
