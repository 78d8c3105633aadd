#!/usr/bin/env python3
"""Real, licensed text for Winnow's sample and benchmark corpora, taken from Debian packages.

Why Debian: its documentation packages (man pages, manuals, HOWTOs) come in many
languages, state their licence in ``/usr/share/doc/<pkg>/copyright``, and are
reachable through ``apt-get`` with no other network access. A package is downloaded with ``apt-get download``
(nothing is installed), unpacked with ``dpkg-deb -x`` in a temporary directory,
and turned into documents:

* HTML: tags stripped with the stdlib ``html.parser`` (script/style and navigation
  blocks dropped); pages longer than ``MAX_DOC_CHARS`` are split at headings.
* man pages: rendered with ``groff -Tutf8 -mandoc`` when groff is present, else
  roff requests are stripped crudely.
* ``.txt``/``.md`` files (also gzip-compressed), unless HTML sits in the same directory
  or below it (Debian often ships the same book as both).

Each document is ``{id, text, url, lang, package, version, license}``; ``id`` is
``<package>:<sha1(path#section)[:16]>`` so it stays stable across package versions.
``.deb`` files and the extracted documents are cached under ``--cache``
(default ``~/.cache/winnow-corpus``), so reruns are offline and fast.

Usage: ``fetch_debian_text.py PKG [PKG ...] [--out docs.jsonl]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("WINNOW_CORPUS_CACHE", Path.home() / ".cache" / "winnow-corpus"))
EXTRACT_VERSION = "v1"  # bump when extraction changes, so cached documents are rebuilt
MAX_DOC_CHARS = 20_000  # HTML pages longer than this are split at headings
MIN_SECTION_CHARS = 2_000  # ... into chunks of at least this much (when possible)
MIN_DOC_CHARS = 120  # shorter fragments are navigation stubs, not documents

# Languages recognised in package names and paths. A curated list, not all of
# ISO 639-1: bare two-letter directory names such as "mm" or "sh" must not count.
LANGS = set(
    [
        "en",
        "de",
        "fr",
        "es",
        "it",
        "ja",
        "zh",
        "pt",
        "ru",
        "pl",
        "nl",
        "ko",
        "uk",
        "cs",
        "da",
        "fi",
        "hu",
        "ro",
        "sv",
        "vi",
        "tr",
        "ar",
        "el",
        "id",
        "nb",
        "ca",
        "fa",
        "hr",
        "sk",
        "sl",
        "sr",
        "et",
        "lt",
        "lv",
        "he",
        "bg",
    ]
)
LANG_ALIASES = {"sp": "es", "no": "nb"}
# Packages whose untagged text is English (upstream writes in English).
ENGLISH_PACKAGES = {
    "manpages", "manpages-dev", "doc-debian", "debian-faq", "maint-guide", "debian-handbook", "gnu-standards",
    "python3.11-doc", "linux-doc-6.1", "postgresql-doc-15", "git-doc", "apache2-doc", "perl-doc", "glibc-doc",
    "bash-doc", "debian-policy", "developers-reference", "debmake-doc", "harden-doc", "debian-history",
    "gettext-doc", "gnuplot-doc", "tcl8.6-doc", "tk8.6-doc", "cmake-doc", "ruby3.1-doc", "diffutils-doc",
    "debian-kernel-handbook", "docbook-xsl-doc-html", "python-django-doc", "nodejs-doc", "vim-doc", "sqlite3-doc",
    "python-sqlalchemy-doc", "zsh-doc", "bind9-doc", "octave-doc", "lilypond-doc-html",
}  # fmt: skip

_LANG_TOKEN = re.compile(r"^([a-z]{2})(?:[_-]([a-z]{2,4}))?(?:\.utf-?8)?$", re.I)
_MAN_NAME = re.compile(r"\.[0-9][a-z0-9]*(\.gz)?$")
_SKIP_DIRS = {"_sources", "_static", "_images", "images", "_downloads", "css", "js"}
_SKIP_NAMES = re.compile(r"^(genindex|search\.|py-modindex|searchindex|copyright|changelog)", re.I)


def lang_token(token: str) -> str | None:
    """'zh_CN' / 'pt-BR' / 'de' / 'ja.UTF-8' -> ISO 639-1 code, if it is a known language."""
    m = _LANG_TOKEN.match(token)
    if not m:
        return None
    code = LANG_ALIASES.get(m.group(1).lower(), m.group(1).lower())
    return code if code in LANGS else None


def guess_lang(package: str, relpath: str) -> str | None:
    """Language from the file name (``ch01.zh-cn.html``), the path (``man/de/``), then the package."""
    parts = relpath.split("/")
    for tok in parts[-1].split(".")[1:]:
        if code := lang_token(tok):
            return code
    for comp in reversed(parts[:-1]):
        if code := lang_token(comp):
            return code
    tail = package.split("-", 1)[1] if "-" in package else ""
    if tail and (code := lang_token(tail)):
        return code
    return "en" if package in ENGLISH_PACKAGES else None


# ----------------------------------------------------------------------------- apt / dpkg


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def fetch_deb(package: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The package's ``.deb`` in the cache, downloading it with ``apt-get download`` if absent."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    with tempfile.TemporaryDirectory(dir=debs) as tmp:
        _run(["apt-get", "download", "-q", package], cwd=tmp)
        got = sorted(Path(tmp).glob(f"{package}_*.deb"))
        if not got:
            raise RuntimeError(f"apt-get download {package} produced no .deb")
        return Path(shutil.move(str(got[-1]), debs / got[-1].name))


def deb_version(deb: Path) -> str:
    return _run(["dpkg-deb", "-f", str(deb), "Version"], text=True).stdout.strip()


def parse_license(copyright_text: str) -> str | None:
    """The first ``License:`` of a DEP-5 copyright file; for free-form ones, a well-known name it mentions."""
    m = re.search(r"^License:[ \t]*(\S[^\n]*)", copyright_text, re.M)
    if m and re.match(r"Format(-Specification)?:", copyright_text):
        return m.group(1).strip()
    for needle, name in (
        ("Python Software Foundation", "PSF"),
        ("GNU Free Documentation License", "GFDL"),
        ("GNU Lesser General Public License", "LGPL"),
        ("GNU Library General Public License", "LGPL"),
        ("GNU General Public License", "GPL"),
        ("Permission is granted to make and distribute verbatim copies", "verbatim-copying permission notice"),
        ("distributed under varieties of licenses", "various, per page (as the original man pages)"),
        ("BSD", "BSD"),
        ("MIT", "MIT"),
    ):
        if needle in copyright_text:
            return name
    return None


def package_license(root: Path, package: str, cache: Path) -> str | None:
    """Licence from the unpacked package's copyright file. When ``/usr/share/doc/<pkg>`` is a
    symlink to another package's folder (common for -dev/-doc packages), read that package's."""
    doc = root / "usr/share/doc" / package
    target = os.readlink(doc).rstrip("/").rsplit("/", 1)[-1] if doc.is_symlink() else package
    local = root / "usr/share/doc" / target / "copyright"
    if local.is_file():
        return parse_license(local.read_text(errors="replace"))
    if target == package:
        return None
    try:
        tar_bytes = _run(["dpkg-deb", "--fsys-tarfile", str(fetch_deb(target, cache))]).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
            member = tf.extractfile(f"./usr/share/doc/{target}/copyright")
            return parse_license(member.read().decode(errors="replace")) if member else None
    except (subprocess.CalledProcessError, RuntimeError, KeyError):
        return None


# ----------------------------------------------------------------------------- HTML

_BLOCK = {
    "p", "div", "br", "li", "tr", "pre", "dt", "dd", "table", "ul", "ol", "dl", "section", "blockquote", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "article", "header", "footer", "caption", "figure", "title",
}  # fmt: skip
_DROP_TAGS = {"script", "style", "noscript", "head", "svg", "nav", "form", "button"}
_DROP_ROLES = {"navigation", "search", "banner", "contentinfo", "note"}
_DROP_CLASSES = {
    "navheader", "navfooter", "related", "sphinxsidebar", "sphinxsidebarwrapper", "footer", "docnav",
    "breadcrumbs", "headerlink", "toc", "navigation", "wy-nav-side", "rst-versions",
}  # fmt: skip
SPLIT_MARK = "\x00SPLIT\x00"


class _TextExtractor(HTMLParser):
    """HTML -> plain text. Keeps paragraph breaks, list bullets and ``<pre>`` layout; marks h1-h3."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._drop: tuple[str, int] | None = None  # (tag, nesting depth) of the element being dropped
        self._pre = 0
        self._bullet = False  # a "- " was written and no text followed yet

    def handle_starttag(self, tag, attrs):
        if self._drop:
            if tag == self._drop[0]:
                self._drop = (tag, self._drop[1] + 1)
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag in _DROP_TAGS or classes & _DROP_CLASSES or a.get("role") in _DROP_ROLES:
            if tag not in ("br", "hr", "img", "input", "meta", "link"):
                self._drop = (tag, 1)
            return
        if tag in ("h1", "h2", "h3"):
            self.out.append(SPLIT_MARK)
        if tag in _BLOCK and not self._bullet:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
            self._bullet = True
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag):
        if self._drop:
            if tag == self._drop[0]:
                depth = self._drop[1] - 1
                self._drop = (tag, depth) if depth else None
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BLOCK and not self._bullet:
            self.out.append("\n")

    def handle_data(self, data):
        if self._drop:
            return
        if data.strip():
            self._bullet = False
        self.out.append(data if self._pre else re.sub(r"\s+", " ", data))


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.split("\n")]
    text = "\n".join(ln if ln.strip() else "" for ln in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return re.sub(r"(?m)^ (?=\S)", "", text).strip()


def html_sections(html: str) -> list[str]:
    """Plain text of an HTML page; long pages come back as several heading-aligned chunks."""
    p = _TextExtractor()
    p.feed(html)
    p.close()
    sections = [_tidy(s) for s in "".join(p.out).split(SPLIT_MARK)]
    sections = [s for s in sections if s]
    if sum(len(s) for s in sections) <= MAX_DOC_CHARS:
        return ["\n\n".join(sections)] if sections else []
    chunks: list[str] = []
    cur = ""
    for s in sections:
        if cur and len(cur) >= MIN_SECTION_CHARS and len(cur) + len(s) > MAX_DOC_CHARS:
            chunks.append(cur)
            cur = s
        else:
            cur = f"{cur}\n\n{s}" if cur else s
    if cur:
        chunks.append(cur)
    return chunks


def decode_html(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        m = re.search(rb"charset=[\"']?([A-Za-z0-9_-]+)", raw[:4096])
        try:
            return raw.decode(m.group(1).decode() if m else "cp1252", errors="replace")
        except LookupError:
            return raw.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- man pages

_GROFF = shutil.which("groff")


def render_man(raw: bytes) -> str:
    """Render one man page to plain UTF-8 text (groff if available, else a crude roff strip)."""
    if _GROFF:
        env = dict(os.environ, LC_ALL="C.UTF-8")
        cmd = [_GROFF, "-Kutf8", "-t", "-Tutf8", "-mandoc", "-rLL=78n", "-P-cbou"]
        try:
            res = subprocess.run(cmd, input=raw, capture_output=True, env=env, timeout=60)
            if res.returncode == 0 and res.stdout.strip():
                return _tidy(res.stdout.decode("utf-8", errors="replace"))
        except subprocess.TimeoutExpired:
            pass
    return crude_roff_strip(raw.decode("utf-8", errors="replace"))


def crude_roff_strip(src: str) -> str:
    """Fallback when groff is missing: drop comments and requests, keep request arguments and text."""
    out = []
    for line in src.splitlines():
        if line.startswith(('.\\"', "'\\\"", ".\\}")) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            req, _, rest = line[1:].partition(" ")
            if req in ("SH", "SS"):
                out.append("\n" + rest.strip('"'))
            elif req in ("B", "I", "BI", "BR", "IR", "RB", "RI", "IB", "TP", "IP", "SM", "UR", "MT") and rest:
                out.append(rest.replace('"', ""))
            elif req in ("PP", "P", "LP", "sp", "br"):
                out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\\f[BIRP1-4]|\\f\(..|\\f\[[^]]*\]|\\s[+-]?\d|\\&|\\c", "", text)
    text = text.replace("\\-", "-").replace("\\(em", "—").replace("\\(en", "–").replace("\\e", "\\")
    return _tidy(re.sub(r"\\\(..|\\\[[^]]*\]", "", text))


# ----------------------------------------------------------------------------- per package


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _doc_id(package: str, key: str) -> str:
    return f"{package}:{hashlib.sha1(key.encode()).hexdigest()[:16]}"


def _kind(rel: str) -> str | None:
    name = rel.rsplit("/", 1)[-1]
    if any(c in _SKIP_DIRS for c in rel.split("/")[:-1]) or _SKIP_NAMES.match(name):
        return None
    parts = set(name.lower().split("."))
    if rel.startswith("usr/share/man/") and _MAN_NAME.search(name):
        return "man"
    if parts & {"html", "htm", "xhtml"}:
        return "html"
    if parts & {"txt", "md"}:
        return "text"
    return None


def extract_package(package: str, cache: Path = DEFAULT_CACHE, workers: int = 2) -> list[dict]:
    """All documents of one package, from the cache when it already holds them."""
    deb = fetch_deb(package, cache)
    version = deb_version(deb)
    out_file = cache / "docs" / EXTRACT_VERSION / f"{package}_{version.replace(':', '%3a')}.jsonl.gz"
    if out_file.exists():
        with gzip.open(out_file, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    with tempfile.TemporaryDirectory(prefix="winnow-deb-") as tmp:
        root = Path(tmp)
        _run(["dpkg-deb", "-x", str(deb), str(root)])
        license_ = package_license(root, package, cache)
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        rels = [(p, p.relative_to(root).as_posix()) for p in files]
        kinds = [(p, rel, _kind(rel)) for p, rel in rels]
        html_dirs = {rel.rsplit("/", 1)[0] for _, rel, k in kinds if k == "html"}

        def convert(item: tuple[Path, str, str]) -> list[tuple[str, str]]:
            path, rel, kind = item
            raw = _read(path)
            if kind == "man":
                if raw.lstrip().startswith(b".so ") and len(raw) < 200:
                    return []  # alias page pointing at another page
                return [(rel, render_man(raw))]
            if kind == "html":
                secs = html_sections(decode_html(raw))
                return [(rel if len(secs) == 1 else f"{rel}#s{i}", s) for i, s in enumerate(secs)]
            d = rel.rsplit("/", 1)[0]
            if any(h == d or h.startswith(d + "/") for h in html_dirs):
                return []  # the same book is already there as HTML (here or in a subfolder)
            return [(rel, _tidy(raw.decode("utf-8", errors="replace")))]

        todo = [k for k in kinds if k[2]]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            converted = list(pool.map(convert, todo))
    docs = []
    for pieces in converted:
        for key, text in pieces:
            if len(text) < MIN_DOC_CHARS:
                continue
            docs.append(
                {
                    "id": _doc_id(package, key),
                    "text": text,
                    "url": f"deb://{package}/{key}",
                    "lang": guess_lang(package, key.split("#")[0]),
                    "package": package,
                    "version": version,
                    "license": license_,
                }
            )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out_file.with_name(f"{out_file.name}.{os.getpid()}.tmp")
    with gzip.open(tmp_out, "wt", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    tmp_out.replace(out_file)
    return docs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("packages", nargs="+")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, help="write all documents here as JSONL")
    args = ap.parse_args(argv)
    fh = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115 (closed below)
    try:
        for pkg in args.packages:
            docs = extract_package(pkg, args.cache)
            mb = sum(len(d["text"].encode()) for d in docs) / 1e6
            langs = Counter(d["lang"] for d in docs).most_common(4)
            print(f"{pkg}: {len(docs)} docs, {mb:.1f} MB, license={docs[0]['license'] if docs else None}, {langs}")
            for d in docs if fh else ():
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    finally:
        if fh:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
