"""Benchmark: Winnow's MinHash dedup against datatrove's four-stage MinHash dedup, same data, one run.

    python -m bench.dedup.run [--corpora long short] [--limit-mb N] [--shards 2] [--workers 2] [--datatrove-seed2]

Each corpus, on its own: ``long`` (``scripts/corpus/build_bench_corpus.py``: >= 200 MB of real Debian
documentation in many languages, 8 KB a document) and ``short`` (``scripts/corpus/build_short_corpus.py``:
>= 500k real documents of about 1 KB) is split into Parquet shards with ids ``d<position>``
(untimed). Then each tool runs in its own subprocess on those shards, one after
the other: datatrove (Signature → Buckets → Cluster → Filter, 14 × 8, 5-grams,
64-bit, ``--workers`` processes), Winnow with ``verify: none`` (the same algorithm:
every LSH collision is a duplicate) and Winnow with its default ``verify: exact``.
Wall time, CPU time (user + system of the whole process tree, sampled with
psutil: the figure that depends least on what else runs on a shared machine) and peak RSS (summed over the process tree, sampled every
20 ms) are measured from outside. Printed: times, RSS, clusters, removed documents, the
Jaccard overlap of the removed ``doc_id`` sets and of the sets of documents in any
duplicate cluster, and the ratios. Results go to ``.winnow/bench/dedup/results.json``.

The removed-id overlap of two MinHash LSH runs is bounded by LSH's own randomness:
pairs with Jaccard 0.5–0.8 collide in some band with probability 5–90 %, so two
independent hash draws remove different borderline documents. The noise floor is
printed for Winnow (seed 1 against seed 2) and, with ``--datatrove-seed2``, for
datatrove against itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
from pathlib import Path

from bench.harness import run_measured, write_results

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / ".winnow" / "bench"
CORPORA = {"long": BENCH / "corpus.jsonl", "short": BENCH / "short.jsonl"}
CORPUS_SCRIPTS = {"long": "scripts/corpus/build_bench_corpus.py", "short": "scripts/corpus/build_short_corpus.py"}


def prepare(corpus: Path, out: Path, shards: int, limit_mb: float | None = None) -> dict:
    """Split the corpus (its first ``limit_mb`` MB of text) into ``shards`` Parquet files with positional ids
    (skipped if already done)."""
    import polars as pl

    marker = out / "prepared.json"
    stat = corpus.stat()
    want = {
        "corpus": str(corpus),
        "size": stat.st_size,
        "mtime": stat.st_mtime,
        "shards": shards,
        "format": "parquet",
        "limit_mb": limit_mb,
    }
    if marker.exists() and json.loads(marker.read_text()).get("key") == want:
        return json.loads(marker.read_text())
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    df = pl.read_ndjson(corpus, schema={"text": pl.String}).with_row_index("i")
    if limit_mb is not None:
        size = pl.col("text").str.len_bytes().cast(pl.Int64)
        df = df.filter(size.cum_sum() - size < int(limit_mb * 1e6))
    df = df.select(id=pl.format("d{}", pl.col("i").cast(pl.String).str.zfill(8)), text=pl.col("text").fill_null(""))
    per = -(-df.height // shards)
    for s in range(shards):
        df.slice(s * per, per).write_parquet(out / f"shard-{s:05d}.parquet", row_group_size=2_000)
    info = {
        "key": want,
        "documents": df.height,
        "text_mb": round(df["text"].str.len_bytes().sum() / 1e6, 1),
        "per_shard": per,
    }
    marker.write_text(json.dumps(info))
    return info


def measure(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; wall time, CPU and peak RSS of its whole process tree (``bench.harness``)."""
    m = run_measured(cmd, env=env, nice=5, interval=0.02)
    return {k: round(v, 2) if k != "peak_rss_mb" else round(v) for k, v in m.items()}


def jaccard(a: set, b: set) -> float:
    return round(len(a & b) / len(a | b), 4) if a | b else 1.0


def pair_similarities(input_dir: Path, pairs: list) -> dict:
    """Exact shingle-set Jaccard of (doc, kept) pairs, computed with Winnow's shingles."""
    import polars as pl

    from bench.dedup.accuracy import jaccard as set_jaccard
    from bench.dedup.accuracy import shingle_sets

    pairs = {(d, k) for d, k in pairs if k is not None and d != k}
    ids = sorted({x for p in pairs for x in p})
    if not ids:
        return {}
    df = pl.scan_parquet(sorted(input_dir.glob("*.parquet"))).filter(pl.col("id").is_in(ids)).collect()
    sets = dict(zip(df["id"], shingle_sets(df["text"].to_list())))
    return {(d, k): set_jaccard(sets[d], sets[k]) for d, k in pairs}


def _markdown(per_corpus: dict) -> str:
    lines = [
        "| corpus | documents | MB of text | tool | wall s | CPU s | peak RSS MB | removed | speed-up | CPU ratio "
        "| RSS ratio | removed-id Jaccard | true-duplicate pairs Jaccard |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus, (info, names, results) in per_corpus.items():
        for name in names:
            r = results[name]
            v = next((x for k, x in r.items() if k.startswith("vs_")), {})
            lines.append(
                f"| {corpus} | {info['documents']:,} | {info['text_mb']} | {name} | {r['wall_s']} | {r['cpu_s']} "
                f"| {r['peak_rss_mb']} | {r['removed']} | {v.get('speedup', '')} | {v.get('cpu_ratio', '')} "
                f"| {v.get('rss_ratio', '')} | {v.get('removed_jaccard', '')} | {v.get('dup_pairs_jaccard', '')} |"
            )
    lines += [
        "",
        "Ratios are against datatrove (speed-up and CPU ratio: datatrove / Winnow; RSS ratio: Winnow / datatrove, "
        "target at most 1; target speed-up 20x for `winnow-none`, the same algorithm: every LSH collision is a "
        "duplicate). `winnow-exact` verifies each candidate pair's exact Jaccard (Winnow's default); `-p2` maps on "
        "two processes; `-s2` is another MinHash seed. The removed-id overlap of two MinHash runs is bounded by "
        "LSH's own randomness; its noise floor, Winnow seed 1 against seed 2:",
        "",
    ]
    for corpus, (_, _, results) in per_corpus.items():
        floor = results.get("lsh_self_agreement")
        if floor:
            lines.append(
                f"- {corpus}: removed-id Jaccard {floor['removed_jaccard']}, true-duplicate pairs Jaccard "
                f"{floor['dup_pairs_jaccard']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    ap.add_argument("--limit-mb", type=float, default=None, help="only the first N MB of each corpus")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="datatrove worker processes (the machine's cores)")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument(
        "--datatrove-seed2",
        action="store_true",
        help="also run datatrove with seed 2: the reference's own noise floor for the removed-id overlap",
    )
    args = ap.parse_args(argv)
    per_corpus = {}
    for corpus in args.corpora:
        path = CORPORA[corpus]
        if not path.exists():
            raise SystemExit(f"{path} not found: build it with `python {CORPUS_SCRIPTS[corpus]}`")
        info, names, results = bench_corpus(path, BENCH / "dedup" / corpus, args)
        per_corpus[corpus] = (info, names, results)
    limit = f" --limit-mb {args.limit_mb:g}" if args.limit_mb else ""
    write_results(
        "dedup",
        {"limit_mb": args.limit_mb, "corpora": {c: {"corpus": i, "results": r} for c, (i, _, r) in per_corpus.items()}},
        _markdown(per_corpus),
        f"python -m bench.dedup.run{limit}",
    )
    return 0


def bench_corpus(corpus: Path, root: Path, args: argparse.Namespace) -> tuple[dict, list[str], dict]:
    """Every tool on one corpus; its description, the tools' names in order, and their results."""
    info = prepare(corpus, root / "input", args.shards, args.limit_mb)
    print(f"corpus: {info['documents']} documents, {info['text_mb']} MB of text, {args.shards} shards")
    env = {**os.environ, "PYTHONPATH": str(REPO), "POLARS_MAX_THREADS": str(os.cpu_count() or 2)}
    py = sys.executable
    results = {"corpus": info, "cpus": os.cpu_count()}
    runs = []
    if not args.skip_datatrove:
        runs.append(
            (
                "datatrove",
                [
                    py,
                    "-m",
                    "bench.dedup.run_datatrove",
                    str(root / "input"),
                    str(root / "work-dt"),
                    str(root / "out-datatrove.json"),
                    "--workers",
                    str(args.workers),
                ],
                "out-datatrove.json",
                "work-dt",
            )
        )
        if args.datatrove_seed2:
            runs.append(
                (
                    "datatrove-s2",
                    [
                        py,
                        "-m",
                        "bench.dedup.run_datatrove",
                        str(root / "input"),
                        str(root / "work-dt2"),
                        str(root / "out-datatrove-s2.json"),
                        "--workers",
                        str(args.workers),
                        "--seed",
                        "2",
                    ],
                    "out-datatrove-s2.json",
                    "work-dt2",
                )
            )
    for name, verify, seed, workers in (
        ("winnow-none", "none", 1, 1),
        ("winnow-exact", "exact", 1, 1),
        ("winnow-none-p2", "none", 1, 2),
        ("winnow-none-s2", "none", 2, 1),
    ):
        runs.append(
            (
                name,
                [
                    py,
                    "-m",
                    "bench.dedup.run_winnow",
                    str(root / "input"),
                    str(root / f"work-{name}"),
                    str(root / f"out-{name}.json"),
                    "--verify",
                    verify,
                    "--seed",
                    str(seed),
                    "--workers",
                    str(workers),
                ],
                f"out-{name}.json",
                f"work-{name}",
            )
        )
    outs = {}
    for name, cmd, out, work in runs:
        shutil.rmtree(root / work, ignore_errors=True)
        print(f"running {name} ...", flush=True)
        m = measure(cmd, env)
        o = json.loads((root / out).read_text())
        outs[name] = o
        results[name] = m | {"inner_s": round(o["seconds"], 2), "clusters": o["clusters"], "removed": len(o["removed"])}
        if "stats" in o:
            results[name]["stats"] = o["stats"]
        shutil.rmtree(root / work, ignore_errors=True)
        print(f"  {name}: {results[name]}", flush=True)

    # keep-choice-independent agreement: the document pairs each tool put in one cluster, and the
    # exact Jaccard (Winnow's shingles) of each; "true duplicates" are pairs with J >= 0.8
    per = info["per_shard"]
    clusters = {}
    for name, o in outs.items():
        groups: dict = {}
        for m in o["members"]:
            doc, c = (f"d{m[0] * per + m[1]:08d}", m[2]) if name.startswith("datatrove") else (m[0], m[1])
            groups.setdefault(c, []).append(doc)
        clusters[name] = {(a, b) for g in groups.values() for a, b in itertools.combinations(sorted(g), 2)}
    sims = pair_similarities(root / "input", sorted(set().union(*clusters.values())))
    true_pairs = {name: {p for p in ps if sims[p] >= 0.8} for name, ps in clusters.items()}
    true_docs = {name: {d for p in ps for d in p} for name, ps in true_pairs.items()}
    for name in outs:
        results[name]["cluster_pairs"] = len(clusters[name])
        results[name]["cluster_pairs_j_ge_0.8"] = len(true_pairs[name])
    base = "datatrove" if "datatrove" in outs else None
    for name in [r[0] for r in runs if r[0] != base]:
        other = base or "winnow-none"
        if name == other:
            continue
        results[name]["vs_" + other] = {
            "speedup": round(results[other]["wall_s"] / results[name]["wall_s"], 2),
            "cpu_ratio": round(results[other]["cpu_s"] / results[name]["cpu_s"], 2),
            "rss_ratio": round(results[name]["peak_rss_mb"] / results[other]["peak_rss_mb"], 3),
            "removed_jaccard": jaccard(set(outs[name]["removed"]), set(outs[other]["removed"])),
            "dup_pairs_jaccard": jaccard(true_pairs[name], true_pairs[other]),
            "dup_docs_jaccard": jaccard(true_docs[name], true_docs[other]),
        }
    if "winnow-none-s2" in outs:  # the noise floor: the same tool with another random draw
        results["lsh_self_agreement"] = {
            "removed_jaccard": jaccard(set(outs["winnow-none"]["removed"]), set(outs["winnow-none-s2"]["removed"])),
            "dup_pairs_jaccard": jaccard(true_pairs["winnow-none"], true_pairs["winnow-none-s2"]),
            "dup_docs_jaccard": jaccard(true_docs["winnow-none"], true_docs["winnow-none-s2"]),
        }
    if "datatrove-s2" in outs:  # the reference's own noise floor: datatrove against itself with another seed
        results["datatrove_self_agreement"] = {
            "removed_jaccard": jaccard(set(outs["datatrove"]["removed"]), set(outs["datatrove-s2"]["removed"])),
            "dup_pairs_jaccard": jaccard(true_pairs["datatrove"], true_pairs["datatrove-s2"]),
            "dup_docs_jaccard": jaccard(true_docs["datatrove"], true_docs["datatrove-s2"]),
        }
    (root / "results.json").write_text(json.dumps(results, indent=2))
    print()
    print(
        f"{'tool':<15} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7} {'clusters':>8} {'removed':>8} {'speed-up':>8} {'CPU x':>6} "
        f"{'RSS x':>6} {'removed J':>9} {'dup pairs J':>11} {'dup docs J':>10}"
    )
    for name in [r[0] for r in runs]:
        r = results[name]
        v = next((x for k, x in r.items() if k.startswith("vs_")), {})
        print(
            f"{name:<15} {r['wall_s']:>7} {r['cpu_s']:>7} {r['peak_rss_mb']:>7} {r['clusters']:>8} {r['removed']:>8} "
            f"{v.get('speedup', ''):>8} {v.get('cpu_ratio', ''):>6} {v.get('rss_ratio', ''):>6} {v.get('removed_jaccard', ''):>9} "
            f"{v.get('dup_pairs_jaccard', ''):>11} {v.get('dup_docs_jaccard', ''):>10}"
        )
    if "lsh_self_agreement" in results:
        print(f"LSH noise floor (Winnow seed 1 vs seed 2): {results['lsh_self_agreement']}")
    if "datatrove_self_agreement" in results:
        print(f"LSH noise floor (datatrove seed 1 vs seed 2): {results['datatrove_self_agreement']}")
    print(
        "dup pairs/docs J: agreement on the pairs put in one cluster whose exact Jaccard is >= 0.8 "
        "(independent of which copy each tool keeps)"
    )
    print(f"\nresults: {root / 'results.json'}")
    return info, [r[0] for r in runs], results


if __name__ == "__main__":
    raise SystemExit(main())
