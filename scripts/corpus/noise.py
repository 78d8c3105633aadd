"""Deterministic web-crawl noise for clean documents.

Why: Winnow's filters, dedup and PII redaction need something to bite on, and clean
Debian documentation is too tidy. This module turns clean docs into what a crawl
looks like: navigation and cookie boilerplate, spam and keyword stuffing, lorem
ipsum, stubs, bullet-heavy and code-heavy pages, exact and near duplicates, and a
little fake PII. Nothing in the text says it is synthetic; ``make_crawl`` returns a
provenance row per output document instead.

Every choice comes from ``random.Random`` seeded with a string built from the caller's
seed and the document id, so output depends only on (seed, inputs), not on call order.
All PII is fake by construction: ``example.com``/``.org``/``.net`` addresses, 555-01xx
phone numbers, documentation-only IPv4 ranges (RFC 5737) and well-known card test
numbers.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable

# Patterns the injected PII is guaranteed to match (the unit tests check this).
PII_PATTERNS = {
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "phone": re.compile(r"\+1[ -]?\(?555\)?[ -]?01\d\d\b|\(555\) 01\d\d\b"),
    "ipv4": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    "card": re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b"),
}
TEST_CARDS = ["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881", "5105 1051 0510 5100"]
_FIRST = ["jane", "john", "maria", "li", "yuki", "hans", "claire", "pedro", "anna", "wei", "sam", "olga"]
_LAST = ["doe", "smith", "garcia", "wang", "tanaka", "muller", "dupont", "silva", "kowalski", "chen", "berg"]
_IP_NETS = ["192.0.2", "198.51.100", "203.0.113"]

# Boilerplate in the page's own language, as real sites have it.
NAV = {
    "en": ["Home | About | Contact | Blog", "Home > Docs > Guides", "Skip to main content", "Menu  Search  Sign in"],
    "de": ["Startseite | Über uns | Kontakt | Impressum", "Zum Inhalt springen", "Menü  Suche  Anmelden"],
    "fr": ["Accueil | À propos | Contact | Mentions légales", "Aller au contenu", "Menu  Recherche  Connexion"],
    "es": ["Inicio | Acerca de | Contacto | Blog", "Saltar al contenido", "Menú  Buscar  Iniciar sesión"],
    "ja": ["ホーム | 会社概要 | お問い合わせ | ブログ", "本文へスキップ", "メニュー  検索  ログイン"],
    "zh": ["首页 | 关于我们 | 联系我们 | 博客", "跳到主要内容", "菜单  搜索  登录"],
}
COOKIE = {
    "en": [
        "We use cookies to improve your experience. By continuing to browse, you agree to our Privacy Policy. Accept all cookies",
        "This site uses cookies. Learn more in our Cookie Policy. [Accept] [Reject]",
        "JavaScript is required to view this page. Please enable JavaScript in your browser.",
    ],
    "de": [
        "Diese Website verwendet Cookies. Mit der weiteren Nutzung stimmen Sie unserer Datenschutzerklärung zu. Alle akzeptieren",
        "Bitte aktivieren Sie JavaScript, um diese Seite anzuzeigen.",
    ],
    "fr": [
        "Ce site utilise des cookies. En poursuivant votre navigation, vous acceptez notre politique de confidentialité. Tout accepter",
        "JavaScript est requis pour afficher cette page.",
    ],
    "es": [
        "Utilizamos cookies para mejorar su experiencia. Al continuar navegando acepta nuestra Política de privacidad. Aceptar todo",
        "Se requiere JavaScript para ver esta página.",
    ],
    "ja": [
        "当サイトではクッキーを使用しています。引き続き閲覧することでプライバシーポリシーに同意したものとみなされます。同意する"
    ],
    "zh": ["本网站使用 Cookie 来改善您的体验。继续浏览即表示您同意我们的隐私政策。全部接受"],
}
FOOTER = {
    "en": [
        "© 2026 All rights reserved. | Terms of Use | Privacy Policy",
        "Share: Facebook Twitter LinkedIn Email",
        "Subscribe to our newsletter",
    ],
    "de": ["© 2026 Alle Rechte vorbehalten. | Impressum | Datenschutz", "Teilen: Facebook Twitter E-Mail"],
    "fr": ["© 2026 Tous droits réservés. | Mentions légales | Confidentialité", "Partager : Facebook Twitter E-mail"],
    "es": ["© 2026 Todos los derechos reservados. | Aviso legal | Privacidad", "Compartir: Facebook Twitter Correo"],
    "ja": ["© 2026 無断転載を禁じます。 | 利用規約 | プライバシーポリシー", "シェア: Twitter Facebook LINE"],
    "zh": ["© 2026 版权所有 | 使用条款 | 隐私政策", "分享到: 微博 微信 QQ空间"],
}
SPAM_ITEMS = [
    "watches",
    "handbags",
    "sneakers",
    "pills",
    "loans",
    "casino bonus",
    "followers",
    "crypto signals",
    "phone cases",
]
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
    "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."
)
STUBS = [
    "404 Not Found",
    "Page not found",
    "Loading...",
    "Access denied",
    "Redirecting…",
    "Coming soon!",
    "Untitled",
    "Sign in to continue",
]
CODE_SNIPPETS = [
    'window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\ngtag("js", new Date());',
    '{"@context": "https://schema.org", "@type": "WebPage", "name": "{{ page.title }}", "inLanguage": "{{ lang }}"}',
    ".nav { display: flex; }\n.nav a { color: #333; padding: 0 1em; }\n@media (max-width: 600px) { .nav { display: none; } }",
    "if (typeof jQuery !== 'undefined') { $(function() { $('.menu').toggle(); }); }",
    "{% if user.is_authenticated %}{{ user.name }}{% else %}Log in{% endif %}",
]
# CJK characters are tokens of their own; elsewhere a token is a run of non-space.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\s\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+|\s+")


def rng_for(seed: int | str, *keys: object) -> random.Random:
    """A generator that depends only on the seed and the keys (not on call order)."""
    return random.Random(":".join(map(str, (seed, *keys))))


def short_hash(*parts: object, n: int = 12) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:n]


def _pick(table: dict[str, list[str]], lang: str | None, rng: random.Random) -> str:
    return rng.choice(table.get(lang or "en", table["en"]))


# ----------------------------------------------------------------------------- transforms of one text


def add_boilerplate(text: str, lang: str | None, rng: random.Random) -> str:
    """Navigation/cookie/JavaScript lines above, share/copyright lines below, in the page's language."""
    head = [_pick(NAV, lang, rng)]
    if rng.random() < 0.6:
        head.append(_pick(COOKIE, lang, rng))
    if rng.random() < 0.3:
        head.append(_pick(NAV, lang, rng))
    foot = [_pick(FOOTER, lang, rng) for _ in range(rng.randint(1, 2))]
    return "\n".join(head) + "\n\n" + text + "\n\n" + "\n".join(dict.fromkeys(foot))


def fake_email(rng: random.Random) -> str:
    sep = rng.choice([".", "_", ""])
    return f"{rng.choice(_FIRST)}{sep}{rng.choice(_LAST)}@{rng.choice(['example.com', 'example.org', 'example.net'])}"


def fake_phone(rng: random.Random) -> str:
    n = f"01{rng.randint(0, 99):02d}"
    return rng.choice([f"+1 555-{n}", f"+1-555-{n}", f"(555) {n}", f"+1 (555) {n}"])


def fake_ipv4(rng: random.Random) -> str:
    return f"{rng.choice(_IP_NETS)}.{rng.randint(1, 254)}"


def inject_pii(text: str, rng: random.Random, kinds: Iterable[str] | None = None) -> tuple[str, dict[str, str]]:
    """Insert sentences carrying fake PII at paragraph breaks; returns the text and what was inserted."""
    kinds = list(kinds) if kinds is not None else rng.sample(list(PII_PATTERNS), rng.randint(1, 3))
    values = {
        "email": fake_email(rng),
        "phone": fake_phone(rng),
        "ipv4": fake_ipv4(rng),
        "card": rng.choice(TEST_CARDS),
    }
    templates = {
        "email": ["For questions, write to {v}.", "Contact: {v}", "Posted by {v}"],
        "phone": ["Call us at {v} (Mon-Fri).", "Support hotline: {v}", "Tel. {v}"],
        "ipv4": ["The mirror was reachable at {v} during testing.", "Last login from {v}", "Server: {v}:8080"],
        "card": ["Card on file: {v}", "Payment with card {v} was declined.", "Test card {v} exp 12/29"],
    }
    paras = text.split("\n\n")
    inserted = {}
    for kind in kinds:
        sentence = rng.choice(templates[kind]).format(v=values[kind])
        paras.insert(rng.randint(0, len(paras)), sentence)
        inserted[kind] = values[kind]
    return "\n\n".join(paras), inserted


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def near_duplicate(text: str, rng: random.Random, rate: tuple[float, float] = (0.05, 0.15)) -> str:
    """A copy with ~5-15% of its words (CJK: characters) replaced, dropped, doubled or misspelt,
    and sometimes a few adjacent lines swapped — what re-crawls and scrapers produce."""
    tokens = _TOKEN.findall(text)
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    if not words:
        return text + "\n"
    vocab = [tokens[i] for i in words]
    n = max(1, round(len(words) * rng.uniform(*rate)))
    for i in rng.sample(words, min(n, len(words))):
        op = rng.random()
        if op < 0.5:
            tokens[i] = rng.choice(vocab)
        elif op < 0.7:
            tokens[i] = ""
        elif op < 0.85:
            tokens[i] = tokens[i] + (" " if tokens[i].isascii() else "") + tokens[i]
        else:
            tokens[i] = _typo(tokens[i], rng)
    out = "".join(tokens)
    if rng.random() < 0.5:
        lines = out.split("\n")
        for _ in range(rng.randint(1, 3)):
            if len(lines) > 3:
                j = rng.randrange(len(lines) - 1)
                lines[j], lines[j + 1] = lines[j + 1], lines[j]
        out = "\n".join(lines)
    if out == text:  # tiny texts can come back unchanged; a near-duplicate must differ
        out = text + " " + rng.choice(vocab)
    return out


def bulletize(text: str, rng: random.Random) -> str:
    """A bullet-heavy page: most sentences/lines become list items, as on link farms and listicles."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?。！？])\s+|\n+", text) if p.strip()]
    marks = rng.choice(["- ", "* ", "• ", "· ", "» "])
    return "\n".join((marks if rng.random() < 0.85 else "") + p[:160] for p in parts[: rng.randint(15, 60)])


def add_code(text: str, rng: random.Random) -> str:
    """Leaked JavaScript/CSS/JSON-LD/template code, the curly-brace residue of bad HTML extraction."""
    paras = text.split("\n\n")
    for _ in range(rng.randint(2, 5)):
        paras.insert(rng.randint(0, len(paras)), rng.choice(CODE_SNIPPETS))
    return "\n\n".join(paras)


# ----------------------------------------------------------------------------- whole synthetic pages


def spam_page(rng: random.Random, keywords: list[str] | None = None) -> str:
    """Ad spam: shouting repeated lines plus keyword stuffing."""
    item = rng.choice(SPAM_ITEMS)
    lines = []
    for _ in range(rng.randint(6, 25)):
        lines.append(
            rng.choice(
                [
                    f"BUY NOW cheap {item} best price!!! 90% OFF",
                    f"Cheap {item} free shipping >>> CLICK HERE <<<",
                    f"BEST {item.upper()} DEALS 2026 - LIMITED OFFER - ORDER TODAY",
                    f"buy {item} online buy {item} cheap buy {item} now",
                ]
            )
        )
    stuffing = " ".join(
        rng.choice((keywords or []) + [item, f"cheap {item}", "discount", "best price", "sale"])
        for _ in range(rng.randint(40, 150))
    )
    return "\n".join(lines) + "\n\n" + stuffing


def lorem_page(rng: random.Random) -> str:
    sentences = re.split(r"(?<=\.) ", LOREM)
    paras = [" ".join(rng.choice(sentences) for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(2, 8))]
    return "\n\n".join(paras)


def stub_page(rng: random.Random, text: str | None = None) -> str:
    """A very short document: an error page, or just the first few words of a real one."""
    if text and rng.random() < 0.5:
        return " ".join(text.split()[: rng.randint(2, 8)])[:60]
    return rng.choice(STUBS)


# ----------------------------------------------------------------------------- a crawl

DEFAULT_MIX = {  # share of output documents per kind
    "real": 0.30,  # clean page, untouched
    "boilerplate": 0.32,  # page wrapped in nav/cookie/footer lines
    "pii": 0.06,  # page (with boilerplate) plus fake PII sentences
    "spam": 0.04,
    "lorem": 0.02,
    "stub": 0.04,
    "bullets": 0.04,
    "code": 0.04,
    "exact_dup": 0.07,  # same text as another output doc, at another URL
    "near_dup": 0.07,  # 5-15% of words mutated
}


def web_url(url: str, rng: random.Random | None = None) -> str:
    """``deb://pkg/path`` -> ``https://pkg.example/path`` (the reserved .example TLD: clearly not a real site)."""
    m = re.match(r"deb://([^/]+)/(.*)", url or "")
    host, path = (m.group(1), m.group(2)) if m else ("www", short_hash(url))
    path = re.sub(r"^usr/share/(doc/)?", "", path).replace("#", "/")
    return f"https://{host.replace('.', '-')}.example/{path}"


def make_crawl(
    clean: list[dict], n: int, seed: int | str, mix: dict[str, float] | None = None
) -> tuple[list[dict], list[dict]]:
    """``n`` web-like docs built from ``clean`` (dicts with id, text, url, lang).

    Returns ``(docs, provenance)``: docs have id, text, url, lang; each provenance row
    has the doc id, its ``kind`` (see ``DEFAULT_MIX``) and ``source_id``/``source_url``
    of the clean doc it came from (empty for fully synthetic pages). Real pages are
    used at most once as themselves; duplicates point at earlier outputs.
    """
    mix = mix or DEFAULT_MIX
    rng = rng_for(seed, "crawl", n)
    kinds = [k for k, share in mix.items() for _ in range(round(share * n))]
    kinds = (kinds + ["boilerplate"] * n)[:n]
    rng.shuffle(kinds)
    pool = list(clean)
    rng.shuffle(pool)
    docs: list[dict] = []
    prov: list[dict] = []
    src_i = 0

    def next_src() -> dict:
        nonlocal src_i
        d = pool[src_i % len(pool)]
        src_i += 1
        return d

    for i, kind in enumerate(kinds):
        if kind in ("exact_dup", "near_dup") and not docs:
            kind = "boilerplate"
        r = rng_for(seed, "doc", i, kind)
        if kind in ("exact_dup", "near_dup"):
            # duplicate an earlier page made from a real doc (not spam), as mirrors and scrapers do
            candidates = [j for j, p in enumerate(prov) if p["source_id"] and p["kind"] not in ("stub",)]
            j = r.choice(candidates) if candidates else 0
            base, base_prov = docs[j], prov[j]
            text = base["text"] if kind == "exact_dup" else near_duplicate(base["text"], r)
            url = base["url"] + r.choice(["?utm_source=feed", "?ref=mirror", "/amp", "?page=1", "/index.html"])
            src = {
                "id": base_prov["source_id"],
                "url": base_prov["source_url"],
                "lang": base["lang"],
                "dup_of": base["id"],
            }
        elif kind in ("spam", "lorem"):
            text = spam_page(r) if kind == "spam" else lorem_page(r)
            host = f"{r.choice(['best-deals', 'top-offers', 'cheap-store', 'my-blog', 'free-stuff'])}-{r.randint(1, 99)}.example"
            url = f"https://{host}/{short_hash(seed, i, n=8)}.html"
            src = {"id": "", "url": "", "lang": "en" if kind == "spam" else None}
        else:
            s = next_src()
            src = {"id": s["id"], "url": s["url"], "lang": s.get("lang")}
            url = web_url(s["url"])
            text = s["text"]
            if kind == "boilerplate":
                text = add_boilerplate(text, s.get("lang"), r)
            elif kind == "pii":
                text, _ = inject_pii(add_boilerplate(text, s.get("lang"), r), r)
            elif kind == "stub":
                text = stub_page(r, text)
            elif kind == "bullets":
                text = bulletize(text, r)
            elif kind == "code":
                text = add_code(add_boilerplate(text, s.get("lang"), r), r)
        doc_id = f"w{short_hash(seed, i, kind, src['id'], n=16)}"
        docs.append({"id": doc_id, "text": text, "url": url, "lang": src["lang"]})
        prov.append(
            {
                "id": doc_id,
                "kind": kind,
                "source_id": src["id"],
                "source_url": src["url"],
                "dup_of": src.get("dup_of", ""),
            }
        )
    return docs, prov
