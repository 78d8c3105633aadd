"""Extraction quality and speed: resiliparse against trafilatura on pages whose main text is marked.

The gold set (``tests/data/extraction/``) is 14 real pages as the sample crawl serves them
(``scripts/corpus/build_crawl.py``: the page inside a site's menu, cookie banner and footer):
12 pages of the Python 3.11 manual and the first two chapters of the Debian Reference (en,
zh-cn). A page's main text is what its authors marked as such: the ``role="main"`` element of
a Sphinx page, the ``chapter`` element of a DocBook page without its table of contents. Each
``.txt`` holds those lines (spot-checked by reading); they are committed, so
the measure does not move when an extractor changes.

Line precision: the share of extracted lines that are main text (found in the gold text).
Line recall: the share of gold lines found in the extracted text. Lines are compared with
whitespace collapsed and pilcrows and list bullets dropped, and a line counts when it occurs
inside the other side's text, so extractors that join or split blocks differently are judged
alike.

    python -m bench.crawl.extraction              # measure, write bench/results/extraction.*
    python -m bench.crawl.extraction --make-gold  # rebuild the gold set from the Debian packages
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "tests" / "data" / "extraction"
EXTRACTORS = ("resiliparse", "trafilatura")
_WS = re.compile(r"\s+")
_BULLET = re.compile(r"^[•*\-–·▪◦]+\s*")
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "dd", "td", "th", "caption", "div", "tr", "br"}


def norm(line: str) -> str:
    return _BULLET.sub("", _WS.sub(" ", line.replace("¶", "")).strip())


def lines(text: str) -> list[str]:
    return [n for n in (norm(x) for x in text.splitlines()) if len(n) > 1]


def score(extracted: str, gold: str) -> dict:
    """Line precision and recall of ``extracted`` against the ``gold`` main text."""
    e, g = lines(extracted), lines(gold)
    g_all, e_all = " ".join(g), " ".join(e)
    hit_e = sum(1 for x in e if x in g_all)
    hit_g = sum(1 for x in g if x in e_all)
    return {"lines": len(e), "gold_lines": len(g), "precision": hit_e / len(e) if e else 0.0, "recall": hit_g / len(g)}


def gold_pages() -> list[tuple[str, str, str]]:
    """(name, served HTML, gold text) of every committed page."""
    return [(h.stem, h.read_text(encoding="utf-8"), h.with_suffix(".txt").read_text(encoding="utf-8"))
            for h in sorted(GOLD.glob("*.html"))]  # fmt: skip


def evaluate(repeat: int = 5) -> dict:
    sys.path.insert(0, str(REPO))
    from winnow.ingest.html_text import extract

    pages = gold_pages()
    out: dict = {"pages": len(pages)}
    for name in EXTRACTORS:
        scores = [score(extract(html, name), gold) for _n, html, gold in pages]
        t0 = time.process_time()
        for _ in range(repeat):
            for _n, html, _g in pages:
                extract(html, name)
        cpu = time.process_time() - t0
        mb = sum(len(h.encode()) for _n, h, _g in pages) * repeat / 1e6
        out[name] = {
            "line_precision": round(sum(s["precision"] for s in scores) / len(scores), 3),
            "line_recall": round(sum(s["recall"] for s in scores) / len(scores), 3),
            "pages_per_cpu_s": round(len(pages) * repeat / cpu, 1),
            "html_mb_per_cpu_s": round(mb / cpu, 2),
        }
        out[f"{name}_per_page"] = {n: {k: round(v, 3) for k, v in s.items()} for (n, _h, _g), s in zip(pages, scores)}
    out["speed_ratio"] = round(out["resiliparse"]["pages_per_cpu_s"] / out["trafilatura"]["pages_per_cpu_s"], 1)
    return out


def make_gold() -> None:
    """Write the gold pages: served HTML through the crawl's site chrome, and the marked main text."""
    import lxml.html

    from scripts.corpus.build_crawl import html_pages, site_page

    wanted = ["library/json.html", "library/os.path.html", "library/functools.html", "library/csv.html",
              "library/pathlib.html", "library/random.html", "tutorial/controlflow.html", "tutorial/errors.html",
              "howto/logging.html", "faq/general.html", "library/string.html", "reference/import.html",
              "ch01.en.html", "ch01.zh-cn.html"]  # fmt: skip
    GOLD.mkdir(parents=True, exist_ok=True)
    for package, rel, raw in html_pages():
        hit = next((w for w in wanted if rel.endswith("/" + w)), None)
        if hit is None:
            continue
        page = site_page(package, rel, raw)
        tree = lxml.html.fromstring(raw)
        main = tree.xpath('//*[@role="main"]') or tree.xpath('//div[@class="chapter"]')
        node = main[0]
        for bad in node.xpath('.//div[@class="toc"] | .//a[@class="headerlink"] | .//div[@class="navheader"]'):
            bad.drop_tree()
        for el in node.iter():
            if isinstance(el.tag, str) and el.tag in BLOCKS:
                el.text = "\n" + (el.text or "")
                el.tail = "\n" + (el.tail or "")
        text = "\n".join(x for x in (_WS.sub(" ", ln).strip() for ln in node.text_content().splitlines()) if x)
        stem = f"{'py' if package.startswith('python') else 'debref'}-{hit.replace('/', '-').rsplit('.html', 1)[0]}"
        (GOLD / f"{stem}.html").write_text(page.body.decode("utf-8"), encoding="utf-8")
        (GOLD / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-gold", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.make_gold:
        make_gold()
        return 0
    from bench.harness import summary_markdown, write_results

    res = evaluate()
    table = {k: v for k, v in res.items() if k in EXTRACTORS}
    md = (
        f"### HTML to text: resiliparse vs trafilatura on {res['pages']} pages with marked main text\n\n"
        + summary_markdown({**table, "pages": res["pages"], "speed_ratio": res["speed_ratio"]})
    )
    print(md)
    write_results("extraction", res, md, "python -m bench.crawl.extraction")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
