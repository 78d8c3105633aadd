"""The rules Chinese and Japanese web text needs (#16, item 3): each drops what it is for, with its
reason code, and keeps clean text; garbled text is caught in every language."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.recipe import Recipe
from winnow.filters import apply_filters, build_rules
from winnow.signals import compute_signals
from winnow.signals.cjk import FAMILY, char_rep_ratio, signals_frame

CLEAN_ZH = (
    "数据清洗是训练大模型之前最重要的工作之一。我们从网页、书籍和论文中收集文本，然后去掉重复的内容，"
    "过滤掉质量不高的页面，并请人工标注一部分样本，以便估计整体的质量。"
    "这样做可以用更少的计算资源训练出更好的模型，对中小企业来说尤其重要。"
    "在实际工作中，我们还会检查语言、编码和个人信息，确保发布的数据可以放心使用。"
)
CASES = {
    "cjk_no_punctuation": "关键词排名优化 网站优化 百度排名 快速排名 搜索引擎优化 " * 12,
    # a long page of varied text, with one advertising phrase pasted hundreds of times
    "cjk_char_repetition": "，".join(
        "".join(chr(0x4E00 + (i * 7919 + j * 104729) % 20000) for j in range(20)) for i in range(150)
    )
    + "。"
    + "限时抢购买一送一，" * 400,
    "cjk_spam": CLEAN_ZH + "加微信领取资料，QQ 123456789，点击下载完整版，免费下载！",
    "flagged_words": CLEAN_ZH + "色情 裸聊 约炮 赌场 博彩 成人视频",
    "cjk_low_script_share": "系统说明文档，" * 12
    + "This manual page documents the command line options in detail. " * 40,
}


RECIPE = Recipe.model_validate({"name": "t", "version": 1, "sources": [{"name": "s", "path": "x", "format": "jsonl"}]})


def _run(texts: list[str]) -> pl.DataFrame:
    docs = pl.DataFrame({"doc_id": [str(i) for i in range(len(texts))], "text": texts})
    return apply_filters(compute_signals(docs.lazy(), RECIPE), RECIPE).collect()


def _failing(row: pl.DataFrame) -> list[str]:
    """Every rule the (one-row) frame fails, not only the first."""
    return [r.reason for r in build_rules(RECIPE) if not row.select(r.keep.fill_null(True)).item()]


CJK_REASONS = set(FAMILY.reasons)


def test_clean_chinese_text_passes_every_cjk_rule():
    out = _run([CLEAN_ZH * 2])
    assert out["lang_detected"][0] == "zh" and not CJK_REASONS & set(_failing(out))


@pytest.mark.parametrize("reason", list(CASES))
def test_each_cjk_rule_drops_what_it_is_for(reason):
    out = _run([CASES[reason]])
    if reason == "cjk_low_script_share":
        out = out.with_columns(lang_detected=pl.lit("zh"))  # a page a detector calls Chinese
    failing = _failing(out)
    assert reason in failing and CJK_REASONS & set(failing) == {reason}, failing


def test_garbled_text_is_caught_in_any_language():
    gbk_as_latin1 = "中文网页内容，数据清洗。".encode("gbk").decode("latin-1") * 10
    utf8_as_cp1252 = "Café déjà vu, naïve résumé über straße. ".encode().decode("cp1252") * 10
    replacement = "Some text with broken bytes \ufffd\ufffd here and \ufffd there. " * 10
    out = _run(
        [gbk_as_latin1, utf8_as_cp1252, replacement, "Café déjà vu, naïve résumé über die Straße, ganz normal. " * 10]
    )
    assert all("garbled_text" in _failing(out[i]) for i in range(3))
    assert out["garbled_ratio"][3] == 0.0  # real accented text is not garbled


def test_char_repetition_is_data_juicers_measure():
    assert char_rep_ratio("abcdefghij" * 30, 10) > 0.3
    assert char_rep_ratio("短", 10) == 0.0


SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
KIND_RULE = {
    "cjk_ads": "cjk_spam",
    "cjk_spam": "cjk_spam",
    "cjk_seo": "cjk_no_punctuation",
    "cjk_flood": "cjk_char_repetition",
    "cjk_script": "cjk_low_script_share",
    "garbled": "garbled_text",
}


@pytest.fixture(scope="module")
def sample_verdicts() -> pl.DataFrame:
    """Every CJK rule's verdict on the bundled Chinese and Japanese web noise and on the real zh/ja pages."""
    web = pl.read_ndjson(SAMPLE / "2026-11-24" / "web_cjk.jsonl.gz").select("id", "text", "lang")
    kinds = pl.read_csv(SAMPLE / "provenance_cjk.csv.gz").select("id", "kind")
    real = (
        pl.read_parquet(SAMPLE / "2026-11-24" / "docs.parquet")
        .filter(pl.col("lang").is_in(["zh", "ja"]))
        .select("id", "text", "lang")
        .with_columns(kind=pl.lit("real"))
    )
    docs = pl.concat([web.join(kinds, on="id"), real])
    signals = compute_signals(docs.lazy(), RECIPE).collect()
    rules = [r for r in build_rules(RECIPE) if r.reason in CJK_REASONS]
    return signals.select("kind", "lang", "lang_detected", *[(~r.keep.fill_null(True)).alias(r.reason) for r in rules])


@pytest.mark.parametrize("kind", list(KIND_RULE))
def test_each_cjk_rule_catches_its_kind_in_the_bundled_web_noise(sample_verdicts, kind):
    """The sample's synthetic noise (scripts/corpus/build_cjk_web.py) is what each rule exists for."""
    pages = sample_verdicts.filter(pl.col("kind") == kind)
    if kind != "garbled":  # mojibake is often not detected as the language it was; the rule holds anyway
        pages = pages.filter(pl.col("lang_detected") == pl.col("lang"))
    assert pages.height >= 5
    assert pages[KIND_RULE[kind]].mean() >= 0.8, pages


def test_cjk_rules_spare_real_chinese_and_japanese_pages(sample_verdicts):
    real = sample_verdicts.filter(pl.col("kind") == "real")
    assert real.height >= 30
    for reason in CJK_REASONS:
        assert real[reason].mean() <= 0.05, (reason, real[reason].mean())


def test_cjk_signals_scan_only_cjk_rows_and_keep_row_order():
    """Spam, flagged words and repetition: 0 on rows of other languages (not scanned); CJK rows get the
    values they get alone; script shares are measured everywhere."""
    cfg = RECIPE.filters.cjk_quality
    texts = ["Plain English text, nothing else. " * 5, CLEAN_ZH, "中文 mixed into English prose " * 5, CLEAN_ZH * 3]
    langs = ["en", "zh", "en", "ja"]
    mixed = signals_frame(pl.Series(texts), pl.Series(langs), cfg)
    for i in (1, 3):
        alone = signals_frame(pl.Series([texts[i]]), pl.Series([langs[i]]), cfg)
        assert mixed.row(i) == alone.row(0)
    assert mixed["cjk_script_share"][1] > 0.9 and 0 < mixed["cjk_script_share"][2] < 0.5  # everywhere
    spammy = ["加微信领取资料，QQ 123456789，点击下载完整版，免费下载！" * 3] * 2
    both = signals_frame(pl.Series(spammy), pl.Series(["zh", "en"]), cfg)
    assert both["cjk_spam_hits"].to_list()[1] == 0 < both["cjk_spam_hits"].to_list()[0]
