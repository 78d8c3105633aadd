"""The bundled sample's ground truth, and the policy of a careful annotator who knows it.

``data/sample/provenance.csv.gz`` says which synthetic noise each document got
(``scripts/corpus/noise.py``). A careful person reading a document would:

* keep real text (``real``, ``bullets``, ``markdown_headings``, ``real_also_in_web``) and
  copies of such a page (``exact_dup``, ``near_dup``, ``cross_night_*``: the annotator judges
  the content; duplicates are dedup's job);
* drop ``boilerplate`` (navigation, cookie banners, "JavaScript required" around the text),
  ``pii`` (personal data), ``spam``, ``lorem``, ``stub`` and ``code`` (leaked JS/CSS/templates),
  and the Chinese and Japanese web noise of ``build_cjk_web.py``: ``cjk_spam``, ``cjk_seo``,
  ``cjk_ads``, ``garbled``, ``cjk_flood`` and ``cjk_script``.

The tests' scripted annotator and the demo's annotators (``scripts/demo_annotate.py``) both
judge by this, so what the model learns and what the card estimates can be checked against it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
KEEP_KINDS = frozenset({"real", "bullets", "markdown_headings", "real_also_in_web"})
DROP_KINDS = frozenset(
    {"boilerplate", "pii", "spam", "lorem", "stub", "code"}
    | {"cjk_spam", "cjk_seo", "cjk_ads", "garbled", "cjk_flood", "cjk_script"}
)
COPY_KINDS = frozenset({"exact_dup", "near_dup", "cross_night_exact", "cross_night_near"})
#: The issue tags a careful annotator adds, by kind.
TAGS = {
    "boilerplate": ["boilerplate/navigation"],
    "pii": ["personal data"],
    "spam": ["spam/ads"],
    "lorem": ["garbled/truncated"],
    "stub": ["garbled/truncated"],
    "code": ["boilerplate/navigation"],
    "cjk_spam": ["spam/ads"],
    "cjk_seo": ["spam/ads"],
    "cjk_ads": ["spam/ads"],
    "garbled": ["garbled/truncated"],
    "cjk_flood": ["spam/ads"],
    "cjk_script": ["garbled/truncated"],
}


@lru_cache(maxsize=1)
def provenance() -> pl.DataFrame:
    """id -> kind, with copies resolved to the kind of the page they copy."""
    # build_sample.py's documents, then build_cjk_web.py's
    prov = pl.concat(
        [pl.read_csv(path, infer_schema_length=0) for path in sorted(SAMPLE.glob("provenance*.csv.gz"))],
        how="diagonal",
    )
    kinds = dict(zip(prov["id"], prov["kind"]))

    def resolve(kind: str, dup_of: str | None) -> str:
        seen = 0
        while kind in COPY_KINDS and dup_of and seen < 10:
            kind, dup_of = kinds.get(dup_of, "real"), None
            seen += 1
        return kind

    resolved = [resolve(k, d) for k, d in zip(prov["kind"], prov["dup_of"])]
    return prov.with_columns(content_kind=pl.Series(resolved))


def human_keep(content_kind: pl.Expr) -> pl.Expr:
    """The careful annotator's decision from the (resolved) provenance kind."""
    return content_kind.is_in(list(KEEP_KINDS))


#: the sample crawl's pages that a careful annotator drops (scripts/corpus/build_crawl.py): the
#: link farm, the ad page and the casino page; every other page is a real manual page
CRAWL_SPAM = r"^https?://(deals-deals\.example|ads\.trackerhub\.example)/|casino"


def truth_for(raw: pl.DataFrame, night: str) -> pl.DataFrame:
    """``doc_id`` -> ``content_kind`` and ``truth_keep`` for the ingested documents of ``night``.

    ``raw`` needs ``doc_id``, ``source``, ``source_file`` and ``url`` (the ``raw_documents``
    table): a man page is known by its file name, a crawl page by its URL, every other document
    by the id its source gave.
    """
    pid = (
        pl.when(pl.col("source") == "manpages")
        .then(pl.col("source_file").str.split("/").list.last())
        .otherwise(pl.col("doc_id").str.splitn(":", 2).struct.field("field_1"))
    )
    prov = provenance().filter(pl.col("partition") == night).select(pl.col("id").alias("pid"), "content_kind")
    out = raw.with_columns(pid=pid).join(prov, on="pid", how="left")
    if "url" in raw.columns:
        crawl_kind = pl.when(pl.col("url").str.contains(CRAWL_SPAM)).then(pl.lit("spam")).otherwise(pl.lit("real"))
        crawl = pl.col("source_file").str.contains(r"\.(warc|arc|wet)(\.gz)?$")
        out = out.with_columns(content_kind=pl.when(crawl).then(crawl_kind).otherwise("content_kind"))
    return out.select("doc_id", "content_kind", truth_keep=human_keep(pl.col("content_kind")))
