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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_TOKEN = re.compile(r"[a-z0-9]+")


def load_blocklist(paths: list[Path]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(blocked domains, blocked URL prefixes) from blocklist files."""
    domains: set[str] = set()
    prefixes: list[str] = []
    for p in paths:
        for line in Path(p).read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip().lower()
            if not entry:
                continue
            if "/" in entry:
                prefixes.append(entry.split("://", 1)[-1])
            else:
                domains.add(entry.lstrip("."))
    return frozenset(domains), tuple(sorted(prefixes))


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


@dataclass
class UrlFilter:
    """The recipe's URL rules for one source."""

    domains: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    banned_words: frozenset[str] = frozenset()

    def check(self, url: str) -> tuple[str, str] | None:
        """Why ``url`` is filtered, as (reason, message), or None to keep it."""
        host = host_of(url)
        parts = host.split(".")
        for i in range(len(parts) - 1):
            if ".".join(parts[i:]) in self.domains:
                return "url_blocked_domain", f"domain {'.'.join(parts[i:])} is in a blocklist"
        bare = url.lower().split("://", 1)[-1]
        for prefix in self.prefixes:
            if bare.startswith(prefix):
                return "url_blocked", f"URL starts with blocked {prefix}"
        if self.banned_words:
            hit = sorted(self.banned_words.intersection(_TOKEN.findall(url.lower())))
            if hit:
                return "url_banned_word", f"banned word(s) in the URL: {', '.join(hit)}"
        return None
