"""The default HTML extractor keeps the main text of pages whose main text is marked, and little else
(#15). The figures for both extractors are in bench/results/extraction.md."""

from __future__ import annotations

from bench.crawl.extraction import gold_pages, score
from winnow.ingest.html_text import extract


def test_score_counts_lines_found_on_the_other_side():
    s = score("Title\nA paragraph that is main text.\nAccept all cookies", "Title\nA paragraph that is\nmain text.")
    assert s["precision"] == 2 / 3 and s["recall"] == 1.0


def test_resiliparse_keeps_the_main_text_and_drops_the_site_chrome():
    pages = gold_pages()
    assert len(pages) == 14
    scores = [score(extract(html, "resiliparse"), gold) for _n, html, gold in pages]
    precision = sum(s["precision"] for s in scores) / len(scores)
    recall = sum(s["recall"] for s in scores) / len(scores)
    assert precision >= 0.95 and recall >= 0.85, (precision, recall)
    text = extract(pages[0][1], "resiliparse")
    assert "We use cookies" not in text and "All rights reserved" not in text
