"""Near-duplicate accuracy: a corpus with known near-duplicates at controlled Jaccard similarities.

Real documents are mutated so that the Jaccard similarity of their shingle sets
(the engine's own shingles: word 5-grams, CJK character 5-grams) with the original
hits a target: 0.5, 0.7, 0.8, 0.9 or 1.0. Evenly spaced tokens are replaced by
fresh made-up words (each replacement changes the n shingles covering it), the
number of replacements found by bisection on the *measured* Jaccard; 1.0 is a copy
whose differences (blank lines, punctuation) vanish in normalization. The true
Jaccard of every pair of documents in the corpus is then computed exactly (a
sparse document × shingle product), so precision also counts accidental matches
between unrelated documents.

Compared on the same shingle sets: Winnow's pipeline (LSH 14×8 with and without
signature verification) and datasketch's ``MinHashLSH`` (same bands and rows, with
and without the same verification). ``python -m bench.dedup.accuracy`` prints the
report; ``tests/unit/test_dedup_accuracy.py`` runs it in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from winnow.dedup.minhash import MinHashParams, collision_probability
from winnow.dedup.pipeline import DedupSettings, run_dedup
from winnow.dedup.shingles import _token_spans, shingle_hashes, texts_to_arrow, tokenize

LEVELS = (0.5, 0.7, 0.8, 0.9, 1.0)
REPO = Path(__file__).resolve().parents[2]
SAMPLE_DOCS = REPO / "data" / "sample" / "2026-11-24" / "docs.parquet"


def shingle_sets(texts: list[str], params: MinHashParams = MinHashParams()) -> list[np.ndarray]:
    """The engine's shingle hashes of each text, as sorted unique arrays."""
    s = pl.Series(texts, dtype=pl.String)
    tokens = tokenize(s)
    from winnow.dedup.minhash import MinHasher

    sh = shingle_hashes(tokens, MinHasher(params).ngram_sizes(s, tokens))
    return [np.unique(sh.hashes[sh.offsets[i] : sh.offsets[i + 1]]) for i in range(len(texts))]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - inter
    return inter / union if union else 1.0


def _fresh_word(rng: random.Random) -> str:
    return "zq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7))


def _replace_tokens(text: str, m: int, rng_seed: int) -> str:
    """``text`` with ``m`` evenly spaced tokens replaced by made-up words."""
    data, offs = texts_to_arrow(pl.Series([text]))
    starts, ends = _token_spans(data, offs[:-1])
    n = len(starts)
    if m <= 0 or n == 0:
        return text
    pos = np.unique(np.linspace(0, n - 1, m + 2)[1:-1].round().astype(int))
    rng = random.Random(rng_seed)
    raw = data.tobytes()
    out, last = [], 0
    for p in pos:
        out.append(raw[last : starts[p]])
        out.append(_fresh_word(rng).encode())
        last = ends[p]
    out.append(raw[last:])
    return b"".join(out).decode("utf-8")


def mutate_to(text: str, target: float, seed: int, params: MinHashParams = MinHashParams()) -> tuple[str, float]:
    """A variant of ``text`` whose shingle-set Jaccard with it is the smallest value >= ``target``.

    Landing on or just above the level keeps each level on its side of a class
    boundary (a "0.8" pair is never a 0.79 pair that a J >= 0.8 metric calls negative).
    """
    if target >= 1.0:
        variant = text.replace("\n", "\n\n") + " !"
        return variant, jaccard(*shingle_sets([text, variant], params))
    base = shingle_sets([text], params)[0]
    n_tokens = int(tokenize(pl.Series([text])).counts[0])
    lo, hi = 0, n_tokens  # J decreases with the number of replaced tokens: find the largest m with J >= target
    best = (text, 1.0)
    while lo <= hi:
        m = (lo + hi) // 2
        variant = _replace_tokens(text, m, seed)
        j = jaccard(base, shingle_sets([variant], params)[0])
        if j >= target:
            if j <= best[1]:
                best = (variant, j)
            lo = m + 1
        else:
            hi = m - 1
    return best


@dataclass
class Corpus:
    frame: pl.DataFrame  # doc_id, text
    designed: pl.DataFrame  # a, b, target, jaccard: the mutated pairs
    true_j: np.ndarray  # n × n exact shingle Jaccard


def build_corpus(texts: list[str], ids: list[str], per_level: int, seed: int = 7, tolerance: float = 0.02) -> Corpus:
    """Originals plus one variant per original for ``per_level`` originals at each level."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    doc_ids, doc_texts, designed = list(ids), list(texts), []
    take = iter(order)
    for level in LEVELS:
        made = 0
        while made < per_level:
            i = next(take)
            variant, j = mutate_to(texts[i], level, seed=rng.randrange(1 << 30))
            if not level <= j <= level + tolerance:
                continue  # too short to hit the level precisely: use another document
            doc_ids.append(f"{ids[i]}~{level}")
            doc_texts.append(variant)
            designed.append({"a": ids[i], "b": doc_ids[-1], "target": level, "jaccard": j})
            made += 1
    sets = shingle_sets(doc_texts)
    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    m = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, inverse)), shape=(len(sets), len(vocab)))
    inter = (m @ m.T).toarray()
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    union = sizes[:, None] + sizes[None, :] - inter
    true_j = np.divide(inter, union, out=np.ones_like(inter, dtype=np.float64), where=union > 0)
    return Corpus(pl.DataFrame({"doc_id": doc_ids, "text": doc_texts}), pl.DataFrame(designed), true_j)


def pairs_from_clusters(doc_ids: list[str], cluster_of: dict[str, str]) -> set[tuple[int, int]]:
    pos = {d: i for i, d in enumerate(doc_ids)}
    groups: dict[str, list[int]] = {}
    for d, c in cluster_of.items():
        groups.setdefault(c, []).append(pos[d])
    out = set()
    for members in groups.values():
        members.sort()
        out.update((a, b) for k, a in enumerate(members) for b in members[k + 1 :])
    return out


def score(pred: set[tuple[int, int]], corpus: Corpus, at: float = 0.8) -> dict:
    j = corpus.true_j
    n = len(j)
    iu = np.triu_indices(n, 1)
    truth = {(int(a), int(b)) for a, b in zip(*iu) if j[a, b] >= at}
    tp = len(pred & truth)
    pos = {d: i for i, d in enumerate(corpus.frame["doc_id"])}
    per_level = {}
    for level in LEVELS:
        sel = corpus.designed.filter(pl.col("target") == level)
        hit = sum((pos[a], pos[b]) in pred for a, b in zip(sel["a"], sel["b"]))
        per_level[str(level)] = round(hit / max(sel.height, 1), 3)
    return {
        "pairs_true": len(truth),
        "pairs_predicted": len(pred),
        "true_positives": tp,
        "recall": round(tp / len(truth), 4) if truth else 1.0,
        "precision": round(tp / len(pred), 4) if pred else 1.0,
        "detected_by_level": per_level,
    }


def run_winnow(corpus: Corpus, verify: str, scheme: str = "one_permutation") -> set[tuple[int, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = DedupSettings(verify=verify, params=MinHashParams(scheme=scheme))
        out = run_dedup(corpus.frame.lazy(), settings, Path(tmp) / "w")
        res = out.results.select("doc_id", "dup_cluster_id").collect()
    return pairs_from_clusters(corpus.frame["doc_id"].to_list(), dict(zip(res["doc_id"], res["dup_cluster_id"])))


def run_datasketch(
    corpus: Corpus, threshold: float | None, params: MinHashParams = MinHashParams()
) -> set[tuple[int, int]]:
    """datasketch MinHashLSH with the same bands × rows, on the same shingle sets, clusters by union-find."""
    from datasketch import MinHash, MinHashLSH

    ids = corpus.frame["doc_id"].to_list()
    sets = shingle_sets(corpus.frame["text"].to_list(), params)
    lsh = MinHashLSH(num_perm=params.num_perm, params=(params.bands, params.rows))
    sigs = []
    for i, s in enumerate(sets):
        mh = MinHash(num_perm=params.num_perm, seed=params.seed)
        mh.update_batch([int(x).to_bytes(8, "little") for x in s])
        sigs.append(mh)
        if len(s):
            lsh.insert(i, mh)
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, s in enumerate(sets):
        if not len(s):
            continue
        for j in lsh.query(sigs[i]):
            if j != i and (threshold is None or sigs[i].jaccard(sigs[j]) >= threshold):
                parent[find(i)] = find(j)
    return pairs_from_clusters(ids, {ids[i]: str(find(i)) for i in range(len(ids))})


def report(corpus: Corpus, threshold: float = 0.75) -> dict:
    """Scores of Winnow (exact / signature / no verification) and datasketch (with / without)."""
    p = MinHashParams()
    out = {
        "documents": corpus.frame.height,
        "designed_pairs": corpus.designed.group_by("target")
        .agg(n=pl.len(), mean_jaccard=pl.col("jaccard").mean().round(4))
        .sort("target")
        .to_dicts(),
        "lsh_collision_probability": {str(j): round(collision_probability(j, p.bands, p.rows), 3) for j in LEVELS},
    }
    for name, fn in [
        ("winnow (LSH + exact Jaccard >= 0.8, default)", lambda: run_winnow(corpus, "exact")),
        (f"winnow (LSH + signature >= {threshold})", lambda: run_winnow(corpus, "signature")),
        ("winnow (LSH only)", lambda: run_winnow(corpus, "none")),
        ("winnow k permutations (LSH only)", lambda: run_winnow(corpus, "none", "permutations")),
        (f"datasketch MinHashLSH (+ signature >= {threshold})", lambda: run_datasketch(corpus, threshold)),
        ("datasketch MinHashLSH (LSH only)", lambda: run_datasketch(corpus, None)),
    ]:
        t = time.perf_counter()
        pred = fn()
        out[name] = score(pred, corpus) | {"seconds": round(time.perf_counter() - t, 2)}
    return out


def sample_texts(path: Path = SAMPLE_DOCS, min_tokens: int = 150) -> tuple[list[str], list[str]]:
    df = pl.read_parquet(path).sort("id")
    counts = tokenize(df["text"]).counts
    df = df.filter(pl.Series(counts >= min_tokens))
    return df["text"].to_list(), df["id"].to_list()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus", type=Path, default=None, help="JSONL with id,text (default: the bundled sample's docs.parquet)"
    )
    ap.add_argument("--docs", type=int, default=2000, help="originals to read from --corpus")
    ap.add_argument("--per-level", type=int, default=40)
    args = ap.parse_args(argv)
    if args.corpus:
        df = pl.read_ndjson(args.corpus, n_rows=args.docs * 3).select("id", "text")
        counts = tokenize(df["text"]).counts
        df = df.filter(pl.Series((counts >= 150) & (counts <= 20_000))).head(args.docs)
        texts, ids = df["text"].to_list(), df["id"].to_list()
    else:
        texts, ids = sample_texts()
    corpus = build_corpus(texts, ids, args.per_level)
    print(json.dumps(report(corpus), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
