"""Great Expectations suites, built in code: the contracts a table must meet to move on.

One suite per gate:

- ``raw_documents``: the canonical document schema, keys and text bounds;
- ``curated_documents``: the same, plus unique content hashes, the recipe's languages
  and every quality signal within its range (what gets published);
- ``annotation_sample``: what annotators will see: no e-mail or phone patterns left
  in the (redacted) text, the shown id (``task_doc_id``) or the url, positive
  inclusion probabilities;
- ``annotations``: the annotation schema, labels within the label set, positive
  inclusion probabilities, one row per (task, annotator);
- ``release_manifest``: one row per shard, manifest figures against the files.

A suite is described as data (:class:`SuiteSpec`: a list of :class:`Rule`, each a Great
Expectations expectation class name and its arguments), so it can be read, tested and
diffed without importing Great Expectations (which takes seconds); :func:`build_suite`
turns it into a real ``great_expectations.ExpectationSuite``. ``winnow.validation`` runs it.

Column types are checked as pandas sees them after ``winnow.validation.to_pandas``:
see :func:`ge_type`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from schemas.documents import ANNOTATION_SCHEMA, DECISIONS, DOCUMENT_SCHEMA, ISSUE_TAGS
from schemas.recipe import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import great_expectations as gx

RAW_SUITE = "raw_documents"
CURATED_SUITE = "curated_documents"
SAMPLE_SUITE = "annotation_sample"
ANNOTATIONS_SUITE = "annotations"
MANIFEST_SUITE = "release_manifest"
SUITES = (RAW_SUITE, CURATED_SUITE, SAMPLE_SUITE, ANNOTATIONS_SUITE, MANIFEST_SUITE)

#: ``tags`` (a list) is checked as one string joined with this separator.
TAGS_SEPARATOR = "|"
TAGS_JOINED = "tags_joined"

#: Rating scale of the labeling config (schemas/labeling_config.xml).
RATING_MIN, RATING_MAX = 1, 5


@dataclass(frozen=True)
class Rule:
    """One expectation: a Great Expectations class name, its arguments and why it exists."""

    expectation: str  # e.g. "ExpectColumnValuesToNotBeNull"
    kwargs: dict[str, Any]
    description: str

    @property
    def column(self) -> str | None:
        k = self.kwargs
        if "column" in k:
            return k["column"]
        if "column_A" in k:
            return f"{k['column_A']}, {k['column_B']}"
        if "column_list" in k:
            return ", ".join(k["column_list"])
        return None


@dataclass(frozen=True)
class SuiteSpec:
    """A suite and what the runner needs to feed it."""

    name: str
    rules: list[Rule]
    #: columns named for each failing row (doc_id, or file for the manifest)
    id_columns: list[str]
    #: computed (polars) before validation, e.g. the joined tags
    derived: dict[str, pl.Expr] = field(default_factory=dict)
    #: columns the suite reads only for their type and nulls: fed as empty strings (nulls kept), so a
    #: night's text (hundreds of MB) never reaches pandas; its length is a derived column
    type_only: frozenset[str] = frozenset()

    def columns(self, available: list[str]) -> list[str]:
        """The columns the suite reads that exist in the table (the rest are never converted)."""
        wanted: list[str] = list(self.id_columns)
        for r in self.rules:
            k = r.kwargs
            wanted += [k[c] for c in ("column", "column_A", "column_B") if c in k]
            wanted += list(k.get("column_list", []))
        out: list[str] = []
        for c in wanted:
            if c in available and c not in out:
                out.append(c)
        return out

    def type_checked(self) -> set[str]:
        """Columns whose type the suite checks (converted faithfully, see winnow.validation.to_pandas)."""
        return {r.kwargs["column"] for r in self.rules if r.expectation == "ExpectColumnValuesToBeOfType"}

    def expectation_names(self) -> list[str]:
        return [r.expectation for r in self.rules]


# --------------------------------------------------------------------------- types
def ge_type(dtype: pl.DataType) -> str | None:
    """The ``type_`` for ``ExpectColumnValuesToBeOfType`` once converted by winnow.validation.to_pandas.

    Strings become pandas' ``str`` dtype, integers ``int64`` (``Int64`` with nulls),
    floats ``float64``, booleans ``bool``, timestamps ``datetime64[us, UTC]`` and lists
    Arrow-backed lists; GE compares the dtype's scalar type with the name given here.
    """
    if dtype == pl.String:
        return "str"
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.List):
        return "list"
    if isinstance(dtype, pl.Datetime):
        return "Timestamp"
    return None


def schema_rules(schema: dict[str, pl.DataType], table: str) -> list[Rule]:
    """Each contract column exists and has its type (extra columns are allowed)."""
    rules = [
        Rule(
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(schema), "exact_match": False},
            f"{table} has every column of its contract (extra columns allowed)",
        ),
    ]
    for name, dtype in schema.items():
        t = ge_type(dtype)
        if t is not None:
            rules.append(
                Rule("ExpectColumnValuesToBeOfType", {"column": name, "type_": t}, f"{name} is {dtype} ({t} in pandas)")
            )
    return rules


def _key_rules(table: str) -> list[Rule]:
    return [
        Rule("ExpectColumnValuesToNotBeNull", {"column": "doc_id"}, f"every {table} row has a doc_id"),
        Rule("ExpectColumnValuesToBeUnique", {"column": "doc_id"}, f"doc_id is unique within {table}"),
    ]


#: the text's length in characters, derived in polars (``TEXT_DERIVED``) for the length rule
TEXT_CHARS = "text_chars"
TEXT_DERIVED = {TEXT_CHARS: pl.col("text").str.len_chars()}


def _text_rules(recipe: Recipe, column: str = "text") -> list[Rule]:
    """Text present and within the length bounds: on ``TEXT_CHARS``, so only integers reach pandas."""
    cfg = recipe.validation
    return [
        Rule("ExpectColumnValuesToNotBeNull", {"column": column}, f"every document has {column}"),
        Rule(
            "ExpectColumnValuesToBeBetween",
            {"column": TEXT_CHARS, "min_value": cfg.min_text_chars, "max_value": cfg.max_text_chars},
            f"{column} has {cfg.min_text_chars}..{cfg.max_text_chars} characters (validation.*_text_chars)",
        ),
    ]


def _probability_rule(column: str) -> Rule:
    return Rule(
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": 0, "max_value": 1, "strict_min": True},
        f"{column} is a positive inclusion probability in (0, 1] (weights 1/p are finite)",
    )


# --------------------------------------------------------------------------- signals
def signal_ranges(columns: dict[str, pl.DataType], recipe: Recipe) -> list[tuple[str, float, float | None]]:
    """``(column, min, max)`` for every numeric signal column present.

    A signal is a numeric column whose name starts with one of
    ``validation.signal_prefixes``; it must lie in [0, 1] when its name matches
    ``validation.ratio_pattern`` (ratios, fractions, scores), else be >= 0 (counts,
    lengths). Chosen by name, so new signal columns are checked as they are added.
    """
    cfg = recipe.validation
    ratio = re.compile(cfg.ratio_pattern)
    out: list[tuple[str, float, float | None]] = []
    for name, dtype in columns.items():
        if not (dtype.is_integer() or dtype.is_float()):
            continue
        if not any(name.startswith(p) for p in cfg.signal_prefixes):
            continue
        out.append((name, 0.0, 1.0) if ratio.search(name) else (name, 0.0, None))
    return out


def signal_rules(columns: dict[str, pl.DataType], recipe: Recipe) -> list[Rule]:
    rules = []
    for name, lo, hi in signal_ranges(columns, recipe):
        kwargs: dict[str, Any] = {"column": name, "min_value": lo}
        if hi is not None:
            kwargs["max_value"] = hi
        what = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
        rules.append(Rule("ExpectColumnValuesToBeBetween", kwargs, f"signal {name} is {what}"))
    return rules


def language_column(columns: list[str]) -> str:
    """The language the filters decided on: ``lang_detected`` when present, else the input's ``lang``."""
    return "lang_detected" if "lang_detected" in columns else "lang"


# --------------------------------------------------------------------------- suites
def raw_documents_spec(recipe: Recipe) -> SuiteSpec:
    rules = schema_rules(DOCUMENT_SCHEMA, RAW_SUITE) + _key_rules(RAW_SUITE) + _text_rules(recipe)
    rules.append(Rule("ExpectColumnValuesToNotBeNull", {"column": "source"}, "every document names its source"))
    return SuiteSpec(RAW_SUITE, rules, id_columns=["doc_id"], derived=TEXT_DERIVED, type_only=frozenset({"text"}))


def curated_documents_spec(recipe: Recipe, columns: dict[str, pl.DataType]) -> SuiteSpec:
    """``columns``: the curated table's schema (signal columns are found in it by name)."""
    rules = schema_rules(DOCUMENT_SCHEMA, CURATED_SUITE) + _key_rules(CURATED_SUITE) + _text_rules(recipe)
    rules += [
        Rule("ExpectColumnValuesToNotBeNull", {"column": "content_hash"}, "every curated document has a content_hash"),
        Rule(
            "ExpectColumnValuesToBeUnique",
            {"column": "content_hash"},
            "no two curated documents share a content hash (exact duplicates were removed)",
        ),
        Rule("ExpectColumnValuesToNotBeNull", {"column": "quality_score"}, "every curated document is scored"),
    ]
    lang = recipe.filters.language
    if recipe.validation.check_language and lang.enabled:
        col = language_column(list(columns))
        rules.append(
            Rule(
                "ExpectColumnValuesToBeInSet",
                {"column": col, "value_set": list(lang.allowed)},
                f"{col} is one of filters.language.allowed (null: language unknown, not checked)",
            )
        )
    sig = dict(columns)
    sig.setdefault("quality_score", pl.Float64())
    rules += signal_rules(sig, recipe)
    return SuiteSpec(CURATED_SUITE, rules, id_columns=["doc_id"], derived=TEXT_DERIVED, type_only=frozenset({"text"}))


def sample_text_column(columns: list[str]) -> str:
    """The text annotators will see: ``text_redacted`` when present, else ``text`` (already redacted)."""
    return "text_redacted" if "text_redacted" in columns else "text"


def _no_pii_rules(column: str, cfg, where: str = "") -> list[Rule]:
    """No e-mail and no phone pattern left in ``column`` (the recipe's validation patterns)."""
    return [
        Rule(
            "ExpectColumnValuesToNotMatchRegex",
            {"column": column, "regex": cfg.email_pattern},
            f"no unredacted e-mail address in {column}{where} (validation.email_pattern)",
        ),
        Rule(
            "ExpectColumnValuesToNotMatchRegex",
            {"column": column, "regex": cfg.phone_pattern},
            f"no unredacted phone number in {column}{where} (validation.phone_pattern)",
        ),
    ]


def annotation_sample_spec(recipe: Recipe, columns: list[str]) -> SuiteSpec:
    cfg = recipe.validation
    text = sample_text_column(columns)
    rules = _key_rules(SAMPLE_SUITE) + [
        Rule("ExpectColumnValuesToNotBeNull", {"column": text}, f"every task has its {text}"),
        *_no_pii_rules(text, cfg),
        Rule("ExpectColumnValuesToNotBeNull", {"column": "inclusion_prob"}, "every sampled row has its probability"),
        _probability_rule("inclusion_prob"),
    ]
    # a task shows these too (Label Studio's Data Manager lists them): no PII there either
    for column in [c for c in SHOWN_FIELDS if c in columns]:
        rules += _no_pii_rules(column, cfg, ", which a task shows")
    return SuiteSpec(SAMPLE_SUITE, rules, id_columns=["doc_id"])


#: the sample's columns a task shows besides its text (winnow.annotation.redact makes them PII-free)
SHOWN_FIELDS = ("task_doc_id", "url")


def tags_regex(tags: tuple[str, ...] = ISSUE_TAGS, sep: str = TAGS_SEPARATOR) -> str:
    """Matches the joined tags of one annotation when every tag is in the label set (none is fine)."""
    one = "(?:" + "|".join(re.escape(t) for t in tags) + ")"
    return f"^(?:{one}(?:{re.escape(sep)}{one})*)?$"


def annotations_spec(recipe: Recipe) -> SuiteSpec:
    rules = schema_rules(ANNOTATION_SCHEMA, ANNOTATIONS_SUITE) + [
        Rule("ExpectColumnValuesToNotBeNull", {"column": "doc_id"}, "every annotation names its doc_id"),
        Rule("ExpectColumnValuesToNotBeNull", {"column": "annotator"}, "every annotation names its annotator"),
        Rule(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["task_id", "annotator"]},
            "one row per (task, annotator): the newest update replaced older ones",
        ),
        Rule("ExpectColumnValuesToNotBeNull", {"column": "decision"}, "every annotation has a decision"),
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "decision", "value_set": list(DECISIONS)},
            f"decision is one of {', '.join(DECISIONS)}",
        ),
        Rule(
            "ExpectColumnValuesToBeBetween",
            {"column": "rating", "min_value": RATING_MIN, "max_value": RATING_MAX},
            f"rating is {RATING_MIN}..{RATING_MAX} (or not given)",
        ),
        Rule(
            "ExpectColumnValuesToMatchRegex",
            {"column": TAGS_JOINED, "regex": tags_regex()},
            "every issue tag is one of the labeling config's tags",
        ),
        Rule("ExpectColumnValuesToNotBeNull", {"column": "inclusion_prob"}, "every annotated row has its probability"),
        _probability_rule("inclusion_prob"),
    ]
    derived = {TAGS_JOINED: pl.col("tags").list.join(TAGS_SEPARATOR).fill_null("")}
    return SuiteSpec(ANNOTATIONS_SUITE, rules, id_columns=["doc_id"], derived=derived)


#: Columns of the per-shard table the manifest suite validates (winnow.validation.manifest_frame).
MANIFEST_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "listed": pl.Boolean(),  # false: a Parquet file in the folder the manifest does not list
    "exists": pl.Boolean(),
    "rows": pl.Int64(),  # as the manifest says
    "actual_rows": pl.Int64(),  # as the file says
    "bytes": pl.Int64(),
    "actual_bytes": pl.Int64(),
    "sha256": pl.String(),
    "actual_sha256": pl.String(),
    "tokens": pl.Int64(),
    "actual_tokens": pl.Int64(),
}


def release_manifest_spec(manifest: dict, curated_rows: int | None = None) -> SuiteSpec:
    """Manifest figures equal the shard contents; totals equal the sums (and the curated table's rows)."""
    totals = manifest.get("totals", {})
    rules = [
        Rule(
            "ExpectColumnValuesToBeInSet",
            {"column": "listed", "value_set": [True]},
            "every Parquet file in the release folder is listed in the manifest",
        ),
        Rule("ExpectColumnValuesToBeInSet", {"column": "exists", "value_set": [True]}, "every listed shard exists"),
        Rule("ExpectColumnValuesToBeUnique", {"column": "file"}, "each shard is listed once"),
    ]
    for what in ("rows", "bytes", "sha256", "tokens"):
        rules.append(
            Rule(
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": what, "column_B": f"actual_{what}", "ignore_row_if": "either_value_is_missing"},
                f"each shard's {what} in the manifest equals the file's (missing and unlisted files "
                "are reported by their own expectations)",
            )
        )
    if "shards" in totals:
        rules.append(
            Rule(
                "ExpectTableRowCountToEqual",
                {"value": int(totals["shards"])},
                "totals.shards equals the number of shards",
            )
        )
    for what in ("rows", "bytes", "tokens"):
        if what in totals:
            v = int(totals[what])
            rules.append(
                Rule(
                    "ExpectColumnSumToBeBetween",
                    {"column": f"actual_{what}", "min_value": v, "max_value": v},
                    f"totals.{what} ({v}) equals the sum over the shard files",
                )
            )
    if curated_rows is not None:
        rules.append(
            Rule(
                "ExpectColumnSumToBeBetween",
                {"column": "actual_rows", "min_value": curated_rows, "max_value": curated_rows},
                f"the shards hold exactly the {curated_rows} curated documents",
            )
        )
    return SuiteSpec(MANIFEST_SUITE, rules, id_columns=["file"])


# --------------------------------------------------------------------------- build
def build_suite(spec: SuiteSpec) -> gx.ExpectationSuite:
    """The spec as a Great Expectations suite (imports great_expectations: slow the first time)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=spec.name)
    for rule in spec.rules:
        cls = getattr(gxe, rule.expectation)
        suite.add_expectation(cls(**rule.kwargs, description=rule.description))
    return suite
