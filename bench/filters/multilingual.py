"""Per-language rules against datatrove's FineWeb-2 filters, and what word segmentation costs.

The corpus is the bundled sample, both nights, every source (real Debian text in 10
languages; the web noise of ``scripts/corpus``), ingested once and cached. Two parts:

1. **Conformance.** Per detected language, datatrove 0.10.1 runs the three filters
   FineWeb-2's pipeline runs (``fineweb-2-pipeline.py``: Gopher repetition, FineWeb quality,
   Gopher quality), configured from that language's FineWeb-2 config (the values in
   ``schemas/language_thresholds.yaml``) with its word tokenizer for that language (spaCy +
   jieba for Chinese, spaCy + SudachiPy for Japanese, ...). English runs datatrove's defaults.
   Winnow runs the same three families (language, C4 and CJK rules off) with its
   per-language thresholds and segmenters. Reported: keep rates and keep/drop agreement per
   language.
2. **Speed, on a corpus that is 30% CJK** (the sample, its Chinese and Japanese documents
   repeated to 30% of the documents): Winnow's signals and every rule of the sample recipe
   with ``segment_words`` on and off, and datatrove's FineWeb-2 filters per language, each
   on both cores (two worker processes), measured as a process tree (``bench.harness``).

    python -m bench.filters.multilingual [--repeat N]

Writes ``bench/results/multilingual.json`` and ``.md`` (docs/languages.md includes the .md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.harness import ratio, run_measured, write_results

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".winnow" / "bench" / "multilingual"
NIGHTS = ("2026-11-24", "2026-11-25")
CJK = ("zh", "ja", "ko")
FAMILIES = ("gopher_repetition", "fineweb", "gopher_quality")


def sample_docs() -> pl.DataFrame:
    """Every ingested document of the sample's two nights (cached), with Winnow's detected language."""
    cache = WORK / "sample_docs.parquet"
    if cache.exists():
        return pl.read_parquet(cache)
    from schemas.recipe import load_recipe
    from winnow.ingest.ingest import ingest_partition
    from winnow.signals.langid import detect

    recipe = load_recipe(REPO / "recipes" / "sample.yaml")
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for night in NIGHTS:
            res = ingest_partition(recipe, REPO / "recipes", night, Path(tmp) / night)
            frames.append(res.documents.select("doc_id", "text").collect())
    docs = pl.concat(frames)
    lang, _ = detect(docs["text"], recipe.filters.language)
    docs = docs.with_columns(lang=lang)
    WORK.mkdir(parents=True, exist_ok=True)
    docs.write_parquet(cache)
    return docs


def fineweb2_filters(lang: str) -> list:
    """datatrove's three FineWeb-2 filters for ``lang``, as fineweb-2-pipeline.py builds them."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    from schemas.recipe import FiltersConfig

    row = FiltersConfig().language_thresholds.get(lang)
    if row is None:  # English: FineWeb's (datatrove's) defaults
        return [GopherRepetitionFilter(), FineWebQualityFilter(), GopherQualityFilter()]
    rep, fw, q = row.gopher_repetition, row.fineweb, row.gopher_quality
    # the config's name, as fineweb-2-pipeline.py passes it: datatrove's "zh" is spaCy's
    # multi-language tokenizer, which does not segment Chinese; "cmn_Hani" is spaCy zh with jieba
    lang = row.source.split("configs/")[1].split(".yml")[0]
    return [
        GopherRepetitionFilter(
            language=lang, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=rep["dup_line_frac"], top_n_grams=tuple(rep["top_n_grams"].items()),
            dup_n_grams=tuple(rep["dup_n_grams"].items()),
        ),
        FineWebQualityFilter(
            language=lang, short_line_thr=999, char_duplicates_ratio=0.1,
            line_punct_thr=fw["line_punct_thr"], new_line_ratio=fw["new_line_ratio"],
        ),
        GopherQualityFilter(
            language=lang, max_avg_word_length=q["max_avg_word_length"], min_avg_word_length=q["min_avg_word_length"],
            stop_words=row.stop_words, max_non_alpha_words_ratio=q["max_non_alpha_words_ratio"], min_stop_words=2,
        ),
    ]  # fmt: skip


def datatrove_keep(args: tuple[str, list[str]]) -> list[bool]:
    """datatrove's keep decision for each text of one language (a worker's task)."""
    from datatrove.data import Document

    lang, texts = args
    filters = fineweb2_filters(lang)
    out = []
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        keep = True
        for f in filters:
            res = f.filter(doc)
            if not (res[0] if isinstance(res, tuple) else res):
                keep = False
                break
        out.append(keep)
    return out


def winnow_recipe(segment: bool = True, families: tuple[str, ...] | None = FAMILIES):
    from schemas.recipe import load_recipe

    recipe = load_recipe(REPO / "recipes" / "sample.yaml")
    recipe.filters.segment_words = segment
    if families is not None:
        for name in ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb", "cjk_quality"):
            getattr(recipe.filters, name).enabled = name in families
    return recipe


def winnow_keep(docs: pl.DataFrame) -> pl.DataFrame:
    from winnow.filters import apply_filters
    from winnow.signals import compute_signals

    recipe = winnow_recipe()
    return (
        apply_filters(compute_signals(docs.lazy(), recipe), recipe).select("doc_id", "keep", "lang_detected").collect()
    )


def conformance(docs: pl.DataFrame) -> list[dict]:
    languages = [
        r["lang"] for r in docs.group_by("lang").len().filter(pl.col("len") >= 40).sort("lang").iter_rows(named=True)
    ]
    from schemas.recipe import FiltersConfig

    rows = FiltersConfig().language_thresholds
    allowed = winnow_recipe().filters.language.allowed
    t0 = time.process_time()
    ours = winnow_keep(docs.filter(pl.col("lang").is_in(languages)))
    winnow_cpu = time.process_time() - t0
    out = []
    for lang in languages:
        part = docs.filter(pl.col("lang") == lang)
        if lang not in allowed and lang not in rows:
            continue
        t0 = time.process_time()
        theirs = datatrove_keep((lang, part["text"].to_list()))
        cpu = time.process_time() - t0
        mine = part.select("doc_id").join(ours, on="doc_id", how="left")["keep"].to_list()
        agree = sum(a == b for a, b in zip(mine, theirs)) / len(mine)
        out.append(
            {
                "language": lang,
                "documents": part.height,
                "thresholds": rows[lang].source if lang in rows else "datatrove defaults (English)",
                "winnow_keep": round(sum(mine) / len(mine), 3),
                "datatrove_keep": round(sum(theirs) / len(theirs), 3),
                "agreement": round(agree, 4),
                "datatrove_cpu_s": round(cpu, 2),
            }
        )
    out.append(
        {"language": "(all)", "documents": sum(r["documents"] for r in out), "winnow_cpu_s": round(winnow_cpu, 2)}
    )
    return out


# ----------------------------------------------------------------------------- speed on 30% CJK


def mixed_corpus(docs: pl.DataFrame, share: float, repeat: int) -> pl.DataFrame:
    """The sample with its CJK documents repeated until they are ``share`` of the documents, ``repeat`` times over."""
    cjk, other = docs.filter(pl.col("lang").is_in(CJK)), docs.filter(~pl.col("lang").is_in(CJK))
    need = round(share * other.height / (1 - share))
    reps = [cjk] * (need // cjk.height) + [cjk.head(need % cjk.height)]
    mixed = pl.concat([other, *reps]).sample(fraction=1.0, shuffle=True, seed=7)
    return pl.concat([mixed] * repeat).with_row_index("n").with_columns(doc_id=pl.format("d{}", "n")).drop("n")


def worker(kind: str, shard: Path, out: Path) -> None:
    frame = pl.read_parquet(shard)
    if kind == "datatrove":
        keep: list[bool] = []
        for lang in frame["lang"].unique(maintain_order=True).to_list():
            part = frame.filter(pl.col("lang") == lang)
            keep += datatrove_keep((lang, part["text"].to_list()))
        out.write_text(json.dumps({"kept": sum(keep)}))
        return
    from winnow.filters import apply_filters
    from winnow.signals import compute_signals

    recipe = winnow_recipe(segment=kind == "winnow-segmented", families=None)
    decided = apply_filters(compute_signals(frame.lazy(), recipe), recipe).select(pl.col("keep").sum()).collect()
    out.write_text(json.dumps({"kept": int(decided.item())}))


def measure(kind: str, shards: list[Path], work: Path) -> dict:
    """Two worker processes, one shard each, measured as one process tree."""
    script = (
        "import subprocess, sys; "
        "procs = [subprocess.Popen([sys.executable, '-m', 'bench.filters.multilingual', '--worker', "
        f"'{kind}', '--shard', s, '--out', s + '.{kind}.json']) for s in sys.argv[1:]]; "
        "sys.exit(max(p.wait() for p in procs))"
    )
    env = dict(os.environ, POLARS_MAX_THREADS="1", PYTHONPATH=str(REPO))
    res = run_measured([sys.executable, "-c", script, *map(str, shards)], env=env)
    res["kept"] = sum(json.loads(Path(f"{s}.{kind}.json").read_text())["kept"] for s in shards)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="the 30%%-CJK corpus is the mixed sample this many times")
    ap.add_argument("--worker")
    ap.add_argument("--shard", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.shard, args.out)
        return
    docs = sample_docs()
    print(f"sample: {docs.height:,} documents", flush=True)
    table = conformance(docs)
    print(pl.DataFrame(table[:-1]), flush=True)
    mixed = mixed_corpus(docs, 0.30, args.repeat)
    WORK.mkdir(parents=True, exist_ok=True)
    shards = [WORK / f"mixed-{i}.parquet" for i in range(2)]
    for i, path in enumerate(shards):
        mixed.gather_every(2, offset=i).write_parquet(path)
    mb = mixed["text"].str.len_bytes().sum() / 1e6
    cjk_share = mixed["lang"].is_in(CJK).mean()
    speed = {kind: measure(kind, shards, WORK) for kind in ("winnow-segmented", "winnow-fast-path", "datatrove")}
    for kind, res in speed.items():
        res["docs_per_cpu_s"] = round(mixed.height / res["cpu_s"], 1)
        print(kind, res, flush=True)
    seg, fast, dt = speed["winnow-segmented"], speed["winnow-fast-path"], speed["datatrove"]
    summary = {
        "conformance": table,
        "speed": speed,
        "corpus_documents": mixed.height,
        "corpus_mb": round(mb, 1),
        "corpus_cjk_share": round(float(cjk_share), 3),
        "segmentation_slowdown_wall": ratio(seg["wall_s"], fast["wall_s"]),
        "segmentation_slowdown_cpu": ratio(seg["cpu_s"], fast["cpu_s"]),
        "datatrove_over_winnow_wall": ratio(dt["wall_s"], seg["wall_s"]),
        "datatrove_over_winnow_cpu": ratio(dt["cpu_s"], seg["cpu_s"]),
    }
    write_results("multilingual", summary, markdown(summary), "python -m bench.filters.multilingual")


def markdown(s: dict) -> str:
    conf = pl.DataFrame(s["conformance"][:-1])
    lines = [
        "### Keep/drop agreement with datatrove's FineWeb-2 filters, per language",
        "",
        "The bundled sample, both nights; Gopher repetition, FineWeb quality and Gopher quality only "
        "(the filters FineWeb-2 runs), with each language's FineWeb-2 thresholds on both sides.",
        "",
        "| language | documents | thresholds | Winnow keeps | datatrove keeps | agreement |",
        "|---|---|---|---|---|---|",
    ]
    for r in conf.iter_rows(named=True):
        lines.append(
            f"| {r['language']} | {r['documents']:,} | {r['thresholds']} | {r['winnow_keep']:.1%} | "
            f"{r['datatrove_keep']:.1%} | {r['agreement']:.1%} |"
        )
    lines += [
        "",
        f"### Speed on a corpus that is {s['corpus_cjk_share']:.0%} CJK",
        "",
        f"{s['corpus_documents']:,} documents, {s['corpus_mb']} MB; both cores (two worker processes). "
        "Winnow: every signal and rule of the sample recipe; datatrove: its FineWeb-2 filters per language.",
        "",
        "| run | wall s | CPU s (process tree) | peak RSS MB | documents kept | documents per CPU-s |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in s["speed"].items():
        lines.append(
            f"| {kind} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['kept']:,} | "
            f"{r['docs_per_cpu_s']:,} |"
        )
    lines += [
        "",
        f"Word segmentation costs **{s['segmentation_slowdown_wall']}x** wall time and "
        f"**{s['segmentation_slowdown_cpu']}x** CPU time over the fast path (the target: at most 2x). "
        f"datatrove takes {s['datatrove_over_winnow_wall']}x Winnow's wall time and "
        f"{s['datatrove_over_winnow_cpu']}x its CPU time for less work.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
