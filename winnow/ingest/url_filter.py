"""URL filtering of crawl records before their HTML is decoded or extracted (it costs almost nothing).

Rules, in order, each with its reason code (they reach the funnel through quarantine):

* ``url_blocked_domain``: the host, or a parent domain of it, is in a blocklist file;
* ``url_blocked``: the URL starts with a blocked URL (an entry holding a ``/``);
* ``url_banned_word``: a banned word is a token of the lower-cased URL (split at
  non-alphanumerics, so "sex" does not match "essex").

The per-domain cap needs the whole night: ``winnow.ingest.crawl_night``.

Blocklists are plain files named in the recipe, one entry per line, ``#`` comments: nothing
is downloaded at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import xxhash

_TOKEN = re.compile(r"[a-z0-9]+")


def load_blocklist(paths: list[Path]) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    """(sorted xxh64 hashes of the blocked domains, blocked URL prefixes by host) from blocklist files.

    Real blocklists hold millions of domains (datatrove's integrated list: 4.6 million); as
    8-byte hashes they take 37 MB instead of about 400 MB of Python strings, and pickle
    cheaply to worker processes. A lookup is a binary search per parent domain of the host.
    """
    key = tuple((str(p), Path(p).stat().st_mtime_ns, Path(p).stat().st_size) for p in paths)
    return _load(key)


@lru_cache(maxsize=8)
def _load(key: tuple) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    hashes: list[int] = []
    prefixes: dict[str, list[str]] = {}
    for path, _mtime, _size in key:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                entry = line.split("#", 1)[0].strip().lower()
                if not entry:
                    continue
                if "/" in entry:
                    bare = entry.split("://", 1)[-1]
                    prefixes.setdefault(bare.split("/", 1)[0], []).append(bare)
                else:
                    hashes.append(xxhash.xxh64_intdigest(entry.lstrip(".").encode()))
    return np.unique(np.array(hashes, dtype=np.uint64)), {h: tuple(sorted(v)) for h, v in prefixes.items()}


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


@dataclass
class UrlFilter:
    """The recipe's URL rules for one source."""

    domains: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # sorted xxh64 hashes
    prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # host -> blocked URL prefixes
    banned_words: frozenset[str] = frozenset()

    def check(self, url: str) -> tuple[str, str] | None:
        """Why ``url`` is filtered, as (reason, message), or None to keep it."""
        host = host_of(url)
        parts = host.split(".")
        if self.domains.size:
            for i in range(len(parts) - 1):
                domain = ".".join(parts[i:])
                h = np.uint64(xxhash.xxh64_intdigest(domain.encode()))
                j = int(np.searchsorted(self.domains, h))
                if j < self.domains.size and self.domains[j] == h:
                    return "url_blocked_domain", f"domain {domain} is in a blocklist"
        if self.prefixes:
            bare = url.lower().split("://", 1)[-1]
            for prefix in self.prefixes.get(host, ()):
                if bare.startswith(prefix):
                    return "url_blocked", f"URL starts with blocked {prefix}"
        if self.banned_words:
            hit = sorted(self.banned_words.intersection(_TOKEN.findall(url.lower())))
            if hit:
                return "url_banned_word", f"banned word(s) in the URL: {', '.join(hit)}"
        return None
