"""Near-duplicate detection throughput: Compass's vectorised MinHash-LSH vs datasketch.

Both sides get the same documents, the same shingles (word 5-grams), 128 permutations and the
same banding (16 bands x 8 rows). A fraction of the documents are planted near-duplicates of
another document (1-2 word edits); recall = planted pairs whose two documents end up linked.
datasketch: ``MinHash.update_batch`` (its fastest path) + ``MinHashLSH.insert`` + ``query``.
Compass: ``minhash_signatures`` + ``band_keys`` + ``candidate_pairs`` + ``connected_components``.

    .venv/bin/python bench/dedup.py [--n 100000] [--baseline-n 100000]

``--baseline-n`` smaller than ``--n`` times datasketch on a prefix and scales its time linearly
(its cost per document is constant); the default runs both on everything.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from compass.data.curation.minhash import (
    band_keys,
    candidate_pairs,
    connected_components,
    minhash_signatures,
    perm_params,
)

NUM_PERM, BANDS, ROWS, SHINGLE = 128, 16, 8, 5


def make_corpus(n: int, dup_frac: float, seed: int) -> tuple[list[str], list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=rng.integers(2, 9))) for _ in range(20_000)]
    n_dup = int(n * dup_frac)
    n_base = n - n_dup
    lengths = rng.integers(25, 60, size=n_base)
    words = rng.integers(0, len(vocab), size=int(lengths.sum()))
    texts, pos = [], 0
    for length in lengths:
        texts.append(" ".join(vocab[w] for w in words[pos : pos + length]))
        pos += length
    pairs = []
    for _ in range(n_dup):
        src = int(rng.integers(0, n_base))
        toks = texts[src].split()
        for _ in range(int(rng.integers(1, 3))):
            toks[int(rng.integers(0, len(toks)))] = vocab[int(rng.integers(0, len(vocab)))]
        pairs.append((src, len(texts)))
        texts.append(" ".join(toks))
    return texts, pairs


def run_compass(texts: list[str]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    a, b = perm_params(NUM_PERM, 1)
    sig = minhash_signatures(texts, [False] * len(texts), SHINGLE, 7, a, b)
    labels = connected_components(len(texts), candidate_pairs(band_keys(sig, BANDS)))
    return time.perf_counter() - t0, labels


def run_datasketch(texts: list[str]) -> tuple[float, list[set[int]]]:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
    sketches = []
    for i, text in enumerate(texts):
        toks = text.split()
        k = min(SHINGLE, len(toks))
        shingles = [" ".join(toks[j : j + k]).encode() for j in range(len(toks) - k + 1)]
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch(shingles)
        lsh.insert(i, m)
        sketches.append(m)
    found = [set(lsh.query(m)) for m in sketches]
    return time.perf_counter() - t0, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--baseline-n", type=int, default=None)
    ap.add_argument("--dup-frac", type=float, default=0.1)
    ap.add_argument("--out", default="bench/results/dedup.md")
    args = ap.parse_args()
    texts, pairs = make_corpus(args.n, args.dup_frac, seed=0)
    t_ours, labels = run_compass(texts)
    recall_ours = float(np.mean([labels[a] == labels[b] for a, b in pairs]))
    base_n = min(args.baseline_n or args.n, args.n)
    t_ds, found = run_datasketch(texts[:base_n])
    in_prefix = [(a, b) for a, b in pairs if b < base_n]
    recall_ds = float(np.mean([a in found[b] for a, b in in_prefix])) if in_prefix else float("nan")
    t_ds_full = t_ds * args.n / base_n
    ratio = t_ds_full / t_ours
    lines = [
        "# bench/dedup.py — near-duplicate detection, Compass vs datasketch",
        "",
        f"- machine: {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}"
        f", date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `.venv/bin/python bench/dedup.py --n {args.n}"
        + (f" --baseline-n {base_n}`" if base_n != args.n else "`"),
        f"- {args.n} documents (25-60 words), {len(pairs)} planted near-duplicates (1-2 word "
        f"edits); {NUM_PERM} permutations, {BANDS} bands x {ROWS} rows, word {SHINGLE}-grams",
        "",
        "| engine | docs | seconds | docs/s | recall of planted pairs |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| compass (numpy) | {args.n} | {t_ours:.2f} | {args.n / t_ours:,.0f} "
        f"| {recall_ours:.4f} |",
        f"| datasketch | {base_n} | {t_ds:.2f} | {base_n / t_ds:,.0f} | {recall_ds:.4f} |",
        "",
        f"**throughput ratio compass / datasketch: {ratio:.1f}x**"
        + (" (datasketch time scaled linearly from its prefix)" if base_n != args.n else ""),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
