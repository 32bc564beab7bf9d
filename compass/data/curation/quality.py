"""Model-based quality score: hashed byte n-grams + logistic regression (fastText-style), numpy
only.

Byte n-grams need no tokenizer and work the same for spaced and unspaced scripts (a 5-byte gram
spans one to two Thai or Chinese characters, or a word boundary in Latin text, which is where word
order shows). Features of a whole batch are hashed in one vectorised pass; the model is a weight
per hash bucket, trained by mini-batch Adagrad on log-loss.

Training data: positive and negative document sets given by path, or, by default, generated from
the run itself: positives are documents that passed the heuristic filters and negatives are
corruptions of them (word salad from the corpus vocabulary, shuffled word order, a phrase repeated)
- the fluent-vs-broken contrast the report's classifiers draw.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from compass.data.curation.config import QualityConfig

log = logging.getLogger(__name__)

_P = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
MAX_BYTES = 3000  # the first 3 KB judge a document's fluency as well as the whole does


def featurize(texts: list[str], n_buckets: int, ngrams: list[int]) -> tuple[np.ndarray, ...]:
    """CSR features (indptr, indices, values) of hashed byte n-grams, rows L2-normalised."""
    bits = int(n_buckets).bit_length() - 1
    bufs = [t.encode("utf-8")[:MAX_BYTES] for t in texts]
    lens = np.fromiter((len(b) for b in bufs), dtype=np.int64, count=len(bufs))
    cat = np.frombuffer(b"".join(bufs), dtype=np.uint8).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(bufs), dtype=np.int64), lens)
    keys = []
    for n in ngrams:
        m = len(cat) - n + 1
        if m <= 0:
            continue
        h = np.zeros(m, dtype=np.uint64)
        for j in range(n):
            h = h * _P + cat[j : j + m]
        ok = doc_of[:m] == doc_of[n - 1 : n - 1 + m]  # the gram stays inside one document
        bucket = ((h[ok] + np.uint64(n)) * _MIX) >> np.uint64(64 - bits)
        keys.append(doc_of[:m][ok] * n_buckets + bucket.astype(np.int64))
    allkeys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    if len(bufs) * n_buckets < 1 << 32:  # a 32-bit sort is twice as fast; batches fit in it
        allkeys = allkeys.astype(np.uint32)
    uniq, counts = np.unique(allkeys, return_counts=True)
    uniq = uniq.astype(np.int64)
    doc = uniq // n_buckets
    values = np.log1p(counts).astype(np.float32)
    norms = np.sqrt(np.bincount(doc, weights=values * values, minlength=len(texts)))
    values /= np.maximum(norms[doc], 1e-6).astype(np.float32)
    indptr = np.searchsorted(doc, np.arange(len(texts) + 1))
    return indptr, (uniq % n_buckets).astype(np.int64), values


def _logits(w: np.ndarray, b: float, indptr, indices, values) -> np.ndarray:
    contrib = w[indices] * values
    sums = np.add.reduceat(contrib, indptr[:-1]) if len(contrib) else np.zeros(len(indptr) - 1)
    sums[indptr[:-1] == indptr[1:]] = 0.0  # reduceat copies the next value for empty rows
    return sums + b


class QualityModel:
    def __init__(self, cfg: QualityConfig, w: np.ndarray | None = None, b: float = 0.0) -> None:
        self.cfg = cfg
        self.w = np.zeros(cfg.n_buckets, dtype=np.float64) if w is None else w
        self.b = b

    def score(self, texts: list[str]) -> np.ndarray:
        """Probability that each text is fluent, in [0, 1]."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        z = _logits(self.w, self.b, *featurize(texts, self.cfg.n_buckets, self.cfg.ngram_bytes))
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def fit(self, pos: list[str], neg: list[str], seed: int = 0, batch: int = 256) -> None:
        texts = pos + neg
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
        indptr, indices, values = featurize(texts, self.cfg.n_buckets, self.cfg.ngram_bytes)
        rng = np.random.default_rng(seed)
        g2w = np.full(self.cfg.n_buckets, 1e-8)
        g2b = 1e-8
        for _ in range(self.cfg.epochs):
            order = rng.permutation(len(texts))
            for s in range(0, len(order), batch):
                rows = np.sort(order[s : s + batch])
                starts, ends = indptr[rows], indptr[rows + 1]
                take = np.concatenate([np.arange(a, e) for a, e in zip(starts, ends)])
                sub_ptr = np.concatenate([[0], np.cumsum(ends - starts)])
                idx, val = indices[take], values[take]
                p = 1.0 / (1.0 + np.exp(-_logits(self.w, self.b, sub_ptr, idx, val)))
                g = (p - y[rows]) / len(rows)
                grad = np.bincount(
                    idx, weights=val * np.repeat(g, ends - starts), minlength=len(self.w)
                )
                grad += self.cfg.l2 * self.w
                g2w += grad * grad
                self.w -= self.cfg.lr * grad / np.sqrt(g2w)
                gb = float(g.sum())
                g2b += gb * gb
                self.b -= self.cfg.lr * gb / np.sqrt(g2b)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, w=self.w.astype(np.float32), b=np.float32(self.b))

    @classmethod
    def load(cls, path: str | Path, cfg: QualityConfig) -> QualityModel:
        data = np.load(path)
        return cls(cfg, data["w"].astype(np.float64), float(data["b"]))


def make_negatives(pos: list[str], seed: int) -> list[str]:
    """One corrupted text per positive: word salad, shuffled order or a repeated phrase."""
    rng = np.random.default_rng(seed)
    vocab = [w for t in pos for w in t.split()]
    out = []
    for i, text in enumerate(pos):
        words = text.split()
        unspaced = len(words) < 4 and len(text) > 12  # Thai / Chinese: corrupt characters
        units = [text[j : j + 3] for j in range(0, len(text), 3)] if unspaced else words
        n = max(4, len(units))
        kind = i % 3
        if kind == 0 and not unspaced and vocab:
            picks = rng.integers(0, len(vocab), size=n)
            out.append(" ".join(vocab[k] for k in picks))
        elif kind == 1 or not units:
            perm = rng.permutation(len(units))
            out.append(("" if unspaced else " ").join(units[k] for k in perm))
        else:
            start = int(rng.integers(0, max(1, len(units) - 3)))
            phrase = units[start : start + 3]
            reps = (phrase * (n // max(1, len(phrase)) + 1))[:n]
            out.append(("" if unspaced else " ").join(reps))
    return out
