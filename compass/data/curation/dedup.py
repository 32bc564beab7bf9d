"""Exact + near-duplicate clustering and the report's keep policy (§2.1.2).

Exact duplicates share a hash of their case- and whitespace-folded text; near duplicates share an
LSH band and agree on at least ``min_jaccard`` of their MinHash signature. Both kinds of link
join documents into clusters. The report found that removing all repetition hurts: so a cluster
whose mean quality is at least ``hq_quality`` keeps up to ``hq_max_copies`` members (distinct
texts first, then the best-scored), and any other cluster collapses to its best member. Every
document gets ``dup_count`` = its cluster's size, the occurrence count that resampling uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compass.data.curation.config import DedupConfig
from compass.data.curation.minhash import band_keys, candidate_pairs, connected_components


@dataclass
class DedupResult:
    keep: np.ndarray  # bool per document
    dup_count: np.ndarray  # cluster size per document
    cluster: np.ndarray  # cluster label per document (its smallest member index)
    reason: list[str]  # "" for kept, else exact_duplicate / near_duplicate
    n_exact_pairs: int
    n_near_pairs: int


def exact_pairs(ehash: np.ndarray) -> np.ndarray:
    order = np.argsort(ehash, kind="stable")
    h = ehash[order]
    same = np.concatenate([[False], h[1:] == h[:-1]])
    head = np.maximum.accumulate(np.where(~same, np.arange(len(h)), 0))
    idx = np.flatnonzero(same)
    return np.stack([order[head[idx]], order[idx]], axis=1).astype(np.int64)


def near_pairs(sig: np.ndarray, cfg: DedupConfig) -> np.ndarray:
    """LSH candidates whose signatures agree on at least ``min_jaccard`` of the permutations."""
    pairs = candidate_pairs(band_keys(sig, cfg.bands))
    if len(pairs) == 0:
        return pairs
    agree = np.empty(len(pairs))
    for s in range(0, len(pairs), 1 << 16):  # bounded memory: pairs x num_perm booleans
        p = pairs[s : s + (1 << 16)]
        agree[s : s + len(p)] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return pairs[agree >= cfg.min_jaccard]


def deduplicate(
    sig: np.ndarray, ehash: np.ndarray, quality: np.ndarray, cfg: DedupConfig
) -> DedupResult:
    """Documents must be in a fixed order (both engines sort by uid) so ties break the same way."""
    n = len(ehash)
    ex, near = exact_pairs(ehash), near_pairs(sig, cfg)
    labels = connected_components(n, np.concatenate([ex, near]) if n else ex)
    size = np.bincount(labels, minlength=n)
    mean_q = np.bincount(labels, weights=quality, minlength=n) / np.maximum(size, 1)
    copies = np.where(mean_q >= cfg.hq_quality, cfg.hq_max_copies, 1)
    # A repeat of an identical text ranks after every distinct text of its cluster.
    ex_rank = np.zeros(n, dtype=np.int64)
    if len(ex):
        order = np.lexsort((np.arange(n), ehash))
        h = ehash[order]
        starts = np.flatnonzero(np.concatenate([[True], h[1:] != h[:-1]]))
        first = np.repeat(starts, np.diff(np.concatenate([starts, [n]])))
        ex_rank[order] = np.arange(n) - first
    order = np.lexsort((np.arange(n), -quality, ex_rank, labels))
    lab_sorted = labels[order]
    starts = np.flatnonzero(np.concatenate([[True], lab_sorted[1:] != lab_sorted[:-1]]))
    first = np.repeat(starts, np.diff(np.concatenate([starts, [n]])))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    keep = rank < copies[labels]
    kept_hashes = set(ehash[keep].tolist())
    reason = [
        "" if k else ("exact_duplicate" if h in kept_hashes else "near_duplicate")
        for k, h in zip(keep.tolist(), ehash.tolist())
    ]
    return DedupResult(keep, size[labels], labels, reason, len(ex), len(near))
