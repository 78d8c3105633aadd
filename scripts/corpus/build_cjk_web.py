#!/usr/bin/env python3
"""Add Chinese and Japanese web noise to the bundled sample: ``web_cjk.jsonl.gz``.

Why: the sample's Chinese and Japanese text is real (Debian's translated manuals) but clean,
so nothing in it exercised the rules Chinese web text needs (winnow/signals/cjk.py). This
builds, from those real pages, the noise a crawl of Chinese and Japanese sites brings:

* ``cjk_spam``: contact lures (加微信, QQ numbers, LINE IDs), download bait, invoice, loan,
  gambling and adult ads, the way spam pages repeat them;
* ``cjk_seo``: keyword stuffing: the page's own words as a list without punctuation;
* ``cjk_ads``: a real page with ad blocks between its paragraphs;
* ``garbled``: a real page as a browser shows it when the charset is wrong: GBK or Shift-JIS
  bytes read as Latin-1, UTF-8 read as cp1252, or replacement characters where bytes broke;
* ``cjk_flood``: a real page's opening buried under forum bumps (顶顶顶, 哈哈哈, ｗｗｗ, 草草草);
* ``cjk_script``: a Chinese or Japanese introduction on top of a long listing in Latin script
  (a config dump, a log), so the page is barely in its language.

Every page is one a careful annotator drops (scripts/corpus/sample_truth.py). Output: the
first night's ``web_cjk.jsonl.gz`` and ``data/sample/provenance_cjk.csv.gz`` (the same
columns as provenance.csv.gz). Seeded and sorted: a rerun writes the same bytes.

Usage: ``python -m scripts.corpus.build_cjk_web``
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

import polars as pl

from scripts.corpus.noise import rng_for, short_hash

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
NIGHT = "2026-11-24"
SEED = 20261202
#: pages per (language, kind)
COUNTS = {
    ("zh", "cjk_spam"): 16, ("zh", "cjk_seo"): 12, ("zh", "cjk_ads"): 14, ("zh", "garbled"): 12,
    ("ja", "cjk_spam"): 10, ("ja", "cjk_seo"): 8, ("ja", "cjk_ads"): 10, ("ja", "garbled"): 8,
    ("zh", "cjk_flood"): 6, ("zh", "cjk_script"): 6, ("ja", "cjk_flood"): 4, ("ja", "cjk_script"): 4,
}  # fmt: skip

LURES = {
    "zh": [
        "加微信：{wx}，免费领取全套资料！",
        "想了解更多请加微信 {wx}，24小时在线。",
        "QQ群：{qq} 欢迎加入交流，进群送教程。",
        "客服QQ {qq}，有问题随时咨询。",
        "点击下载最新破解版，永久免费使用！",
        "免费下载高清完整版，无需注册。",
        "代开各类发票，正规渠道，联系电话 {phone}。",
        "兼职日结，每天轻松赚300元，扫码添加客服。",
        "澳门博彩官方网站，首充即送100%彩金！",
        "时时彩计划群，稳赚不赔，名额有限。",
        "无抵押快速贷款，当天放款，利息低至0.3%。",
        "刷单返利，一单一结，在家就能做。",
    ],
    "ja": [
        "今すぐ無料ダウンロード！登録不要です。",
        "LINE ID：{wx} を追加してください。限定情報を配信中！",
        "出会い系サイトで今すぐ素敵な出会いを。",
        "アダルト動画が無料で見放題！",
        "副業で月収100万円！詳しくはこちらをクリック。",
        "激安ブランドコピー通販、送料無料。",
        "オンラインカジノで初回入金ボーナス100%！",
        "即日融資、審査なしでお金を借りられます。",
    ],
}
SEO_TAILS = {
    "zh": ["下载", "教程", "安装", "破解版", "免费", "最新", "官网", "中文版", "2026", "大全"],
    "ja": ["ダウンロード", "無料", "最新", "公式", "使い方", "まとめ", "2026", "比較", "おすすめ"],
}


def _fill(line: str, rng: random.Random) -> str:
    return line.format(
        wx=f"{rng.choice(['vip', 'kf', 'abc', 'deb'])}{rng.randint(1000, 99999)}",
        qq=rng.randint(10_000_000, 2_999_999_999),
        phone=f"1{rng.randint(3, 9)}{rng.randint(100_000_000, 999_999_999)}",
    )


def spam_page(lang: str, rng: random.Random) -> str:
    """Lures repeated the way spam pages repeat them, a few to a paragraph."""
    paras = []
    for _ in range(rng.randint(4, 9)):
        paras.append("".join(_fill(rng.choice(LURES[lang]), rng) for _ in range(rng.randint(2, 4))))
    return "\n\n".join(paras)


def _words(text: str, lang: str) -> list[str]:
    from winnow.signals.segment import cutter

    return [w for w in cutter(lang)(text) if len(w) >= 2 and not w.isascii()]


def seo_page(text: str, lang: str, rng: random.Random) -> str:
    """The page's own words as keyword stuffing: lists of phrases, no sentences."""
    words = _words(text, lang) or ["Debian"]
    lines = []
    for _ in range(rng.randint(8, 20)):
        keys = [rng.choice(words) + rng.choice(SEO_TAILS[lang]) for _ in range(rng.randint(4, 9))]
        lines.append(" ".join(keys))
    return "\n".join(lines)


def ads_page(text: str, lang: str, rng: random.Random) -> str:
    """A real page with ad blocks between its paragraphs (and one at each end)."""
    paras = text.split("\n\n")
    ad = lambda: "【广告】" if lang == "zh" else "【PR】"  # noqa: E731
    for _ in range(rng.randint(3, 6)):
        block = ad() + "".join(_fill(rng.choice(LURES[lang]), rng) for _ in range(rng.randint(2, 3)))
        paras.insert(rng.randint(0, len(paras)), block)
    return "\n\n".join(paras)


def garbled_page(text: str, lang: str, rng: random.Random, variant: int) -> str:
    """The page as shown with the wrong charset: legacy bytes or UTF-8 read as Latin-1, or broken bytes."""
    if variant == 0:
        legacy = "gbk" if lang == "zh" else "shift_jis"
        return text.encode(legacy, "replace").decode("latin-1")
    if variant == 1:
        return text.encode("utf-8").decode("cp1252", "replace")
    chars = list(text)
    for i in rng.sample(range(len(chars)), k=max(1, len(chars) // 8)):
        if not chars[i].isspace():
            chars[i] = "\ufffd"
    return "".join(chars)


BUMPS = {"zh": ["顶", "哈", "沙发", "赞", "好"], "ja": ["ｗ", "草", "あ", "ー"]}


def _intro(text: str, chars: int) -> str:
    """The page's first paragraphs in its own script, up to about ``chars`` characters."""
    cjk = [p for p in text.split("\n\n") if sum("\u3040" <= c <= "\u9fff" for c in p) >= 20]
    out: list[str] = []
    for para in cjk or [text]:
        out.append(para)
        if sum(map(len, out)) >= chars:
            break
    return "\n\n".join(out)[: chars * 2]


def flood_page(text: str, lang: str, rng: random.Random) -> str:
    """The page's opening, then lines of one bump repeated, two to four times as long."""
    intro = _intro(text, 300)
    bump = rng.choice(BUMPS[lang])
    total, lines = 0, []
    while total < rng.randint(2, 4) * len(intro):
        line = bump * rng.randint(30, 120)
        lines.append(line)
        total += len(line)
    return intro + "\n\n" + "\n".join(lines)


LISTING = [
    "Jan 12 03:1{i}:0{j} host kernel: [  {i}{j}.5{j}1] usb 1-{i}: new high-speed USB device number {j} using xhci_hcd",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin  # profile line {i}{j}",
    "deb http://deb.debian.org/debian bookworm main contrib non-free-firmware  # mirror {i}{j}",
    "Setting up libssl3:amd64 (3.0.{i}{j}-1~deb12u1) ... Processing triggers for man-db (2.11.2-{j}) ...",
]


def script_page(text: str, rng: random.Random) -> str:
    """The page's first paragraph, then a long Latin-script listing."""
    intro = _intro(text, 500)
    lines = [rng.choice(LISTING).format(i=rng.randint(0, 9), j=rng.randint(0, 9)) for _ in range(rng.randint(80, 140))]
    return intro + "\n\n" + "\n".join(lines)


def build() -> tuple[list[dict], list[dict]]:
    night = SAMPLE / NIGHT
    docs = pl.read_parquet(night / "docs.parquet").filter(pl.col("lang").is_in(["zh", "ja"])).sort("id")
    prov = pl.read_csv(SAMPLE / "provenance.csv.gz", infer_schema_length=0).filter(pl.col("partition") == NIGHT)
    origin = {r["id"]: r for r in prov.iter_rows(named=True)}
    out, rows = [], []
    for (lang, kind), n in COUNTS.items():
        pool = docs.filter(pl.col("lang") == lang).to_dicts()
        for i in range(n):
            rng = rng_for(SEED, lang, kind, i)
            base = pool[i % len(pool)]
            if kind == "cjk_spam":
                text, src = spam_page(lang, rng), None
            elif kind == "cjk_seo":
                text, src = seo_page(base["text"], lang, rng), base
            elif kind == "cjk_ads":
                text, src = ads_page(base["text"], lang, rng), base
            elif kind == "cjk_flood":
                text, src = flood_page(base["text"], lang, rng), base
            elif kind == "cjk_script":
                text, src = script_page(base["text"], rng), base
            else:
                text, src = garbled_page(base["text"], lang, rng, i % 3), base
            doc_id = f"c{short_hash(SEED, lang, kind, i, n=16)}"
            host = f"{rng.choice(['zixun', 'ziyuan', 'xiazai', 'matome', 'navi'])}-{rng.randint(1, 99)}.example"
            url = f"https://{host}/{short_hash(doc_id, n=8)}.html"
            out.append({"id": doc_id, "text": text, "url": url, "lang": lang, "fetched_at": f"{NIGHT}T03:{i:02d}:00Z"})
            o = origin.get(src["id"], {}) if src else {}
            rows.append(
                {
                    "partition": NIGHT,
                    "file": "web_cjk.jsonl.gz",
                    "id": doc_id,
                    "kind": kind,
                    "lang": lang,
                    "source_id": src["id"] if src else "",
                    "source_url": src["url"] if src else "",
                    "dup_of": "",
                    "package": o.get("package", ""),
                    "version": o.get("version", ""),
                    "license": o.get("license", ""),
                }
            )
    return out, rows


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def main() -> None:
    docs, rows = build()
    lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    (SAMPLE / NIGHT / "web_cjk.jsonl.gz").write_bytes(_gzip(lines.encode("utf-8")))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (SAMPLE / "provenance_cjk.csv.gz").write_bytes(_gzip(buf.getvalue().encode("utf-8")))
    print(f"wrote {len(docs)} pages to data/sample/{NIGHT}/web_cjk.jsonl.gz and data/sample/provenance_cjk.csv.gz")


if __name__ == "__main__":
    main()
