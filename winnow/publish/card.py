"""The dataset card: ``README.md`` in every release.

Built from what the night produced; any input another stage has not produced yet
(labels, agreement, estimates, validation summaries) is reported as "not available
yet (cold start)" rather than failing the release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from schemas.documents import RELEASE_SCHEMA
from schemas.recipe import Recipe
from winnow.markdown import cell as _cell
from winnow.markdown import fmt_count, fmt_pct, md_table
from winnow.publish.compute import report_markdown

COLD = "_Not available yet (cold start)_"

COLUMN_DOCS = {
    "doc_id": "stable document id (the input's id, else derived from source and content); unique",
    "text": "the document text as ingested (not PII-redacted)",
    "source": "source name from the recipe",
    "url": "URL, or the path of the file it came from",
    "lang": "language given by the input (nullable)",
    "lang_detected": "language from language identification (nullable)",
    "created_at": "timestamp given by the input (nullable, UTC)",
    "partition": "the night (YYYY-MM-DD) the document was ingested",
    "source_file": "input file the document was read from",
    "source_line": "1-based line (JSONL) or row (Parquet) in that file",
    "metadata": "free-form JSON object carried from the input",
    "quality_score": "quality score in [0, 1] (heuristic until the quality model is trained)",
    "n_tokens": "tokens in `text` under the release tokenizer (see Tokenizer)",
}


@dataclass
class CardContext:
    """Everything the card shows; optional pieces are None when not produced yet."""

    dataset: str
    version: str
    partition: str
    recipe: Recipe
    recipe_hash: str
    code: dict
    tokenizer: dict
    totals: dict
    funnel: pl.DataFrame
    language_mix: pl.DataFrame
    by_source: pl.DataFrame
    compute: dict
    lineage: dict
    dedup: pl.DataFrame | None = None
    estimates: pl.DataFrame | None = None
    gate: dict | None = None  # the curated_quality_lower_bound verdict (winnow.release_gate)
    agreement: pl.DataFrame | None = None
    annotations: dict | None = None  # {"labels", "documents", "annotators"} over all nights
    sample: dict | None = None  # tonight's annotation sample: {"documents", "by_kind": {...}}
    checks: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)  # role -> file name in the release
    scoring: dict | None = None  # {"score_source", "model_versions"}: what selected the curated set
    #: what ingest could not use: {"quarantined", "by_reason": {reason: n}, "failed_files": [{path, message}]}
    intake: dict = field(default_factory=lambda: {"quarantined": 0, "by_reason": {}, "failed_files": []})


def _front_matter(ctx: CardContext) -> str:
    langs = [
        lang
        for lang in ctx.language_mix.filter(pl.col("curated_documents") > 0)["lang"].to_list()
        if lang and lang != "und"
    ]
    lines = ["---", f"pretty_name: {ctx.dataset} {ctx.version}", f"license: {ctx.recipe.publish.license}"]
    if langs:
        lines.append("language:")
        lines += [f"- {lang}" for lang in sorted(langs)]
    lines += [
        "tags:",
        "- winnow",
        "- curated",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        "    path: part-*.parquet",
        "---",
    ]
    return "\n".join(lines)


def _funnel_section(ctx: CardContext) -> list[str]:
    f = ctx.funnel.select(
        "step",
        pl.col("documents"),
        pl.col("tokens"),
        pl.col("share_of_raw_tokens").map_elements(fmt_pct, return_dtype=pl.String).alias("share of raw tokens"),
    )
    out = [
        "## Funnel",
        "",
        "Every record of the night is either in this release or removed at exactly one stage, "
        "with the reason of that stage: at ingest, a crawl record's URL rule or extraction outcome, or why "
        "a record could not be read (the night's `quarantine` table; no tokens, as no text was kept); "
        "the first failing filter rule (`drop_reason`), the kind of "
        "duplicate, `model_below_threshold` (the quality model scored it under its calibrated threshold) "
        "or `not_curated` (scored but left out after deduplication). Removed documents are kept in the "
        "`rejected_documents`, `duplicates` and `scored_documents` tables, never lost.",
        "",
        md_table(f, max_rows=60),
        "",
    ]
    if "funnel" in ctx.images:
        out += [f"![Curation funnel]({ctx.images['funnel']})", ""]
    return out + _intake_lines(ctx.intake)


def _intake_lines(intake: dict) -> list[str]:
    """The night's quarantine and failed files: always shown, also when there are none."""
    n, failed = intake.get("quarantined", 0), intake.get("failed_files", [])
    reasons = ", ".join(f"{r}: {c}" for r, c in sorted(intake.get("by_reason", {}).items()))
    out = [
        f"**Quarantine.** {n} input records could not be used tonight" + (f" ({reasons})" if reasons else "")
        + "; each is in the night's `quarantine` table with its file, line and reason.",
        "",
        f"**Failed files.** {len(failed)}" + (":" if failed else " (every input file was read to the end)."),
        "",
    ]  # fmt: skip
    out += [f"- `{f['path']}`: {f['message']}" for f in failed[:20]]
    if len(failed) > 20:
        out.append(f"- … and {len(failed) - 20} more (see the manifest)")
    return out + ([""] if failed else [])


def _dedup_section(ctx: CardContext) -> list[str]:
    out = ["## Deduplication", ""]
    d = ctx.recipe.dedup
    out.append(
        f"Exact dedup on normalized text: {'on' if d.exact else 'off'}; MinHash near-dedup: "
        f"{'on' if d.minhash.enabled else 'off'} ({d.minhash.bands} bands × {d.minhash.rows} rows, "
        f"{d.minhash.ngram}-word shingles, {d.minhash.cjk_char_ngram}-character shingles for CJK); "
        f"against earlier nights: {'yes' if d.against_history else 'no'}. One document per cluster is kept."
    )
    out.append("")
    if ctx.dedup is None:
        out.append(COLD + ": the `duplicates` table was not found.")
    elif ctx.dedup.height == 0:
        out.append("No duplicates were found this night.")
    else:
        out.append(
            md_table(
                ctx.dedup.rename(
                    {
                        "dup_kind": "kind",
                        "documents": "documents removed",
                        "clusters": "clusters (kept documents)",
                        "largest_cluster": "largest cluster",
                        "tokens_removed": "tokens removed",
                    }
                )
            )
        )
    out.append("")
    return out


def _lang_section(ctx: CardContext) -> list[str]:
    mix = ctx.language_mix.with_columns(
        pl.col("kept_token_share").map_elements(fmt_pct, return_dtype=pl.String),
        pl.col("share_of_curated_tokens").map_elements(fmt_pct, return_dtype=pl.String),
    ).rename({"kept_token_share": "tokens kept", "share_of_curated_tokens": "share of release tokens"})
    return [
        "## Language mix",
        "",
        "Language = detected language, else the one the input gave, else `und`.",
        "",
        md_table(mix, max_rows=40),
        "",
    ]


def _annotation_section(ctx: CardContext) -> list[str]:
    s, a = ctx.recipe.sampling, ctx.recipe.annotation
    out = [
        "## Annotation protocol and agreement",
        "",
        f"- **Sample.** A fixed fraction ({s.fraction:g}) of each night's documents, chosen deterministically "
        f"by hashing `doc_id` with the recipe seed ({ctx.recipe.seed}), stratified by source × language × "
        f"score bucket (cut points {s.score_buckets}), plus a slice of rejected documents "
        f"({s.rejected_fraction:g}) to measure false drops. Each sampled document carries its inclusion "
        f"probability, so estimates are weighted back to the whole population. At most {s.nightly_budget} "
        f"documents a night; a document is never sent twice.",
        f"- **Overlap.** {fmt_pct(s.overlap_fraction)} of the sample is double-annotated to measure agreement; "
        f"the release expects Krippendorff's alpha ≥ {a.min_alpha:g}.",
        f'- **Task.** Annotators see PII-redacted text in the Label Studio project "{a.project_title}" and '
        "decide keep/drop, with an optional 1–5 rating and issue tags (boilerplate, spam, machine-generated, "
        "toxic, personal data, wrong language, garbled, near-duplicate).",
        "",
    ]
    if ctx.sample is not None:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(ctx.sample.get("by_kind", {}).items()))
        out += [f"Tonight's sample: {ctx.sample['documents']} documents" + (f" ({kinds})." if kinds else "."), ""]
    if ctx.annotations:
        out += [
            f"Labels so far (all nights): {ctx.annotations.get('labels', 0)} labels on "
            f"{ctx.annotations.get('documents', 0)} documents by {ctx.annotations.get('annotators', 0)} annotators.",
            "",
        ]
    else:
        out += [COLD + ": no human labels have been pulled from Label Studio yet.", ""]
    out.append("**Agreement.**")
    out.append("")
    out.append(_agreement(ctx.agreement))
    out.append("")
    return out


def _agreement(ag: pl.DataFrame | None) -> str:
    """The agreement table; a one-row summary is shown as metric | value rows."""
    if ag is None or ag.height == 0:
        return COLD + ": agreement needs double-annotated documents."
    if ag.height > 1:
        return md_table(ag, max_rows=20)
    row = ag.row(0, named=True)
    coefficients = {k: v for k, v in row.items() if ("kappa" in k or "alpha" in k) and not k.startswith("min_")}
    if coefficients and all(v is None for v in coefficients.values()):
        n = row.get("n_overlap_items")
        return (
            COLD
            + ": agreement needs double-annotated documents"
            + (f" ({n} overlap items so far)." if n is not None else ".")
        )
    return md_table(pl.DataFrame({"metric": list(row), "value": [_cell(v) for v in row.values()]}))


def _quality_section(ctx: CardContext) -> list[str]:
    out = ["## Human-estimated quality", ""]
    est = ctx.estimates
    if est is None or est.height == 0:
        out += [
            COLD + ": the share of good documents in raw and curated data is estimated from the human "
            "labels once there are enough of them; until then this release has no human quality estimate.",
            "",
        ]
        return out
    wanted = (
        "population",
        "metric",
        "estimate",
        "lower",
        "upper",
        "n_labels",
        "labelled_share",
        "labels_used",
        "method",
    )
    cols = [c for c in wanted if c in est.columns]
    t = est.select(cols).sort([c for c in ("population", "metric") if c in cols])
    if {"estimate", "lower", "upper"} <= set(cols):
        t = t.with_columns(
            pl.format(
                "{} [{}, {}]", pl.col("estimate").round(3), pl.col("lower").round(3), pl.col("upper").round(3)
            ).alias("estimate [95% CI]")
        ).drop("estimate", "lower", "upper")
    out += [
        "Weighted estimates from the human labels (each label weighted by its inclusion probability), "
        "with 95% intervals. *labelled_share*: the share of the population's sampled documents labelled "
        "so far (strata with no label yet are bounded, not guessed). The curated share and the model's "
        "false-drop rate are measured by held-out labels only, which never trained or calibrated the "
        "quality model (*labels_used*); `keep_share_corrected` corrects the raw-label share for the "
        "annotators' estimated error rates.",
        "",
        md_table(t, max_rows=60),
        "",
        *_gate_lines(ctx.gate),
    ]
    q = ctx.compute.get("quality", {})
    if q.get("raw") and q.get("curated"):
        r, c = q["raw"], q["curated"]
        out += [
            f"Raw data: {fmt_pct(r['estimate'])} good [{fmt_pct(r['lower'])}, {fmt_pct(r['upper'])}]; "
            f"curated: {fmt_pct(c['estimate'])} good [{fmt_pct(c['lower'])}, {fmt_pct(c['upper'])}].",
            "",
        ]
    return out


def _gate_lines(gate: dict | None) -> list[str]:
    if not gate:
        return []
    state = gate.get("state", "pass")
    how = {
        "pass": "the lower bound of the curated share reached the threshold",
        "fail": "the upper bound fell below the threshold (the release would normally be blocked)",
        "insufficient evidence": "the evidence did not decide; "
        + ("the recipe lets such releases through with a warning" if not gate.get("blocks") else "blocked"),
    }[state]
    used = f", measured by {gate['n_labels']} {gate.get('labels_used', 'labels')}" if gate.get("n_labels") else ""
    return [
        f"**Release gate** (`curated_quality_lower_bound`, threshold {gate.get('min_curated_quality')}): "
        f"**{state}**: {how}{used}. {gate.get('reason', '')}",
        "",
    ]


def _checks_section(ctx: CardContext) -> list[str]:
    out = ["## Checks", ""]
    out.append(
        "This release was published only because the blocking checks on `curated_documents` passed; "
        "its manifest was verified against the files before it was renamed into place."
    )
    out.append("")
    if not ctx.checks:
        out += [COLD + ": no validation summaries were found for this night.", ""]
        return out
    rows = []
    for asset, summ in sorted(ctx.checks.items()):
        if not isinstance(summ, dict):
            rows.append({"asset": asset, "passed": None, "detail": _cell(summ)[:120]})
            continue
        stats = summ.get("statistics") or {}
        ok = summ.get("success", summ.get("passed"))
        detail = ""
        if stats:
            detail = (
                f"{stats.get('successful_expectations', '?')}/{stats.get('evaluated_expectations', '?')} expectations"
            )
        if summ.get("rows") is not None:
            detail += f" on {summ['rows']:,} rows" if detail else f"{summ['rows']:,} rows"
        failed = summ.get("failed_expectations") or []
        if failed:
            detail += "; failed: " + ", ".join(map(str, failed[:5]))
        rows.append(
            {
                "asset": asset,
                "suite": summ.get("suite"),
                "passed": None if ok is None else bool(ok),
                "detail": detail or _cell({k: v for k, v in summ.items() if k not in ("results",)})[:120],
            }
        )
    out += [md_table(pl.DataFrame(rows)), ""]
    return out


def _thresholds_note(recipe: Recipe) -> str:
    """Which allowed languages ran on thresholds of their own, and which on the English defaults."""
    f = recipe.filters
    own = sorted(lang for lang in f.language_thresholds if lang in f.language.allowed)
    fallback = sorted(set(f.language.allowed) - set(own) - {"en"}) if f.language.enabled else ["any other"]
    note = (
        "The heuristic filters (Gopher, C4, FineWeb) were designed for English web text; "
        f"{', '.join(own) or 'no language'} use per-language thresholds and stop words "
        "(FineWeb-2's unless the recipe says otherwise; docs/languages.md)"
    )
    if fallback:
        return note + f", and {', '.join(fallback)} ran on the English defaults, having none of their own."
    return note + "."


def _limitations(ctx: CardContext) -> list[str]:
    items = [
        "Releases are incremental: this version holds one night's curated documents. Documents that "
        "duplicate earlier nights are removed only when the recipe deduplicates against history "
        f"(`dedup.against_history: {str(ctx.recipe.dedup.against_history).lower()}`).",
        f"Token counts use the {ctx.tokenizer['name']} byte-level BPE ({ctx.tokenizer['vocab_size']:,} tokens), "
        "trained on English: Chinese, Japanese and other non-Latin text takes more tokens than under a "
        "modern multilingual tokenizer, so their counts (and the compute report) are on the high side.",
        _thresholds_note(ctx.recipe),
        "`text` is published as ingested; PII redaction is applied to what annotators see, not to the release.",
        "The compute report counts 6·N·D for one pass; it ignores attention FLOPs, evaluation, restarts and "
        "hyper-parameter search, and assumes a constant MFU.",
        "Human estimates rest on a small weighted sample; read the intervals, not only the point estimates.",
    ]
    missing = []
    if ctx.estimates is None or ctx.estimates.height == 0:
        missing.append("human quality estimates")
    if ctx.agreement is None or ctx.agreement.height == 0:
        missing.append("annotator agreement")
    if not ctx.annotations:
        missing.append("human labels")
    if not ctx.checks:
        missing.append("validation summaries")
    if ctx.dedup is None:
        missing.append("duplicate statistics")
    if missing:
        items.insert(0, "Cold start: this release has no " + ", no ".join(missing) + " yet.")
    return ["## Known limitations", ""] + [f"- {i}" for i in items] + [""]


def _scoring_cell(scoring: dict | None) -> str:
    if not scoring or scoring.get("score_source") in (None, "unknown"):
        return "not recorded"
    versions = scoring.get("model_versions") or []
    if scoring["score_source"] == "model" and versions:
        return (
            f"quality model {', '.join(versions)}: documents under its calibrated threshold were left out; "
            "re-running this night with another model replaces this version"
        )
    return "heuristic only (cold start: no quality model trained yet)"


def build_card(ctx: CardContext) -> str:
    """The card as Markdown, with Hugging Face front matter (so the folder loads as a dataset)."""
    sections = (
        _header_section, _sources_section, _recipe_section, _funnel_section, _dedup_section, _lang_section,
        _annotation_section, _quality_section, _compute_section, _checks_section, _reference_section, _limitations,
    )  # fmt: skip
    return "\n".join(line for section in sections for line in section(ctx))


def _header_section(ctx: CardContext) -> list[str]:
    r, t = ctx.recipe, ctx.totals
    code = ctx.code.get("git_sha") or f"unknown ({ctx.code.get('reason', 'not a git checkout')})"
    if ctx.code.get("dirty"):
        code += " (with uncommitted changes)"
    return [
        _front_matter(ctx),
        "",
        f"# {ctx.dataset} — release {ctx.version}",
        "",
        f"The documents of night **{ctx.partition}** that passed the Winnow curation recipe "
        f"**{r.name} v{r.version}**: filtered by quality rules, deduplicated and scored, with a human-labelled "
        f"sample measuring how good the result is. {r.description}".rstrip(),
        "",
        "Releases are incremental: each version holds one night's curated documents "
        f"(`releases/{ctx.dataset}/<night>-v<recipe version>/`); `releases/{ctx.dataset}/LATEST` names the newest.",
        "",
        "| | |",
        "|---|---|",
        f"| documents | {t['rows']:,} |",
        f"| tokens ({ctx.tokenizer['name']}) | {t['tokens']:,} ({fmt_count(t['tokens'])}) |",
        f"| shards | {t['shards']} zstd Parquet file{'s' if t['shards'] != 1 else ''}, {t['bytes']:,} bytes |",
        f"| recipe | `{r.name}` v{r.version}, sha256 `{ctx.recipe_hash[:16]}…` |",
        f"| code version | `{code}` |",
        f"| quality scores | {_scoring_cell(ctx.scoring)} |",
        f"| night (partition) | {ctx.partition} |",
        "",
        "## Sources",
        "",
        md_table(pl.DataFrame([{"source": s.name, "format": s.format, "path": s.path} for s in r.sources])),
        "",
    ]


def _sources_section(ctx: CardContext) -> list[str]:
    lines: list[str] = []
    files = ctx.lineage.get("source_files", [])
    if files:
        nbytes = sum(f.get("bytes", 0) for f in files)
        lines += [
            f"{len(files)} input files ({nbytes:,} bytes) were read this night; each is listed in "
            "`manifest.json` with its size, modification time and sha256.",
            "",
        ]
    if ctx.by_source.height:
        lines += ["Documents in this release per source:", "", md_table(ctx.by_source), ""]
    return lines


def _recipe_section(ctx: CardContext) -> list[str]:
    r = ctx.recipe
    return [
        "## Recipe",
        "",
        "Enabled filter families: "
        + ", ".join(
            name
            for name in ("gopher_quality", "gopher_repetition", "c4", "fineweb", "language")
            if getattr(r.filters, name).enabled
        )
        + f"; languages allowed: {', '.join(r.filters.language.allowed)}. "
        f"The full recipe is below and in `manifest.json` (`recipe.content`), with its sha256 `{ctx.recipe_hash}`.",
        "",
        "<details><summary>Full recipe (JSON)</summary>",
        "",
        "```json",
        json.dumps(r.model_dump(mode="json"), indent=2, sort_keys=True),
        "```",
        "",
        "</details>",
        "",
    ]


def _compute_section(ctx: CardContext) -> list[str]:
    lines: list[str] = []
    lines.append(report_markdown(ctx.compute, heading="##").rstrip())
    lines.append("")
    if "compute" in ctx.images:
        lines += [f"![Compute report]({ctx.images['compute']})", ""]
    lines.append("The report is also in `compute_report.json` and `compute_report.md`.")
    lines.append("")
    return lines


def _reference_section(ctx: CardContext) -> list[str]:
    r = ctx.recipe
    return [
        "## Columns",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        *[f"| `{c}` | {t_} | {COLUMN_DOCS.get(c, '')} |" for c, t_ in RELEASE_SCHEMA.items()],
        "",
        "Rows are sorted by `doc_id`. A document's signals, filter decisions, duplicates and labels can be "
        "looked up by `doc_id` in the pipeline's tables.",
        "",
        "## Tokenizer",
        "",
        f"{ctx.tokenizer['description']}, loaded offline with the `{ctx.tokenizer['library']}` package from a "
        f"{ctx.tokenizer['provenance']}. Licence: {ctx.tokenizer['licence']}.",
        "",
        "## How to load",
        "",
        "```python",
        "import polars as pl",
        f'df = pl.scan_parquet("releases/{ctx.dataset}/{ctx.version}/*.parquet").collect()',
        "",
        "from datasets import load_dataset",
        f'ds = load_dataset("parquet", data_files="releases/{ctx.dataset}/{ctx.version}/*.parquet", split="train")',
        "```",
        "",
        f'Every night of one recipe version: `pl.scan_parquet("releases/{ctx.dataset}/*-v{r.version}/*.parquet")`. '
        "Check the files first: each shard's sha256, rows, bytes and tokens are in `manifest.json`.",
        "",
    ]


def strip_front_matter(card: str) -> str:
    """The card without its YAML header (for showing in the Dagster UI)."""
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            return card[end + 5 :].lstrip("\n")
    return card
