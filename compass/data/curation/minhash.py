"""MinHash signatures and LSH banding, vectorised over a whole batch of documents with numpy.

Shingles: word n-grams (Thai/Chinese: character n-grams). A batch's texts are concatenated into
one byte array; a prefix polynomial hash over it (wrapping uint64 arithmetic) gives the hash of
any byte span in O(1), so every shingle of every document is hashed without a Python loop. Each
of the ``num_perm`` permutations is a bijection of uint32 (xor with a seed, multiply by an odd
constant), applied to all shingles at once; ``np.minimum.reduceat`` takes each document's minimum.
LSH: each band of ``rows`` signature rows is hashed to one uint64 key; documents sharing a key in
any band are candidates, verified on their signature agreement, then joined into clusters.
"""

from __future__ import annotations

import numpy as np

# Hashing runs mod 2^32 in int32 (numpy's unsigned cumsum is ~10x slower; wrapping is the same).
# 32 bits is enough: two distinct shingles colliding only blurs a Jaccard estimate by ~1e-6.
_P = np.int32(0x01000193)
_INV = np.int32(np.uint32(pow(0x01000193, -1, 1 << 32)).astype(np.int32))  # P odd: invertible
_CHUNK_DOCS = 2048  # arrays of a chunk stay in cache; one pass over 100k docs would not
_POW: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^(i+1) and P^-(i+1) for i < n, cached: every chunk needs the same prefix of them."""
    if len(_POW.get("p", ())) < n:
        m = max(n, 1 << 16)
        _POW["p"] = np.cumprod(np.full(m, _P, dtype=np.int32), dtype=np.int32)
        _POW["inv"] = np.cumprod(np.full(m, _INV, dtype=np.int32), dtype=np.int32)
    return _POW["p"][:n], _POW["inv"][:n]


_BLOCK = 1 << 14  # shingles per block: keeps the (perms x shingles) matrix in cache-sized pieces


def perm_params(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = (rng.integers(1, 1 << 31, size=num_perm, dtype=np.uint64) * 2 + 1).astype(np.uint32)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def shingle_hashes(texts: list[str], n_words: int, unspaced: list[bool], n_chars: int):
    """(hashes uint32, doc index per shingle) for every shingle of every text, sorted by doc.

    A shingle spans ``n`` tokens: words (whitespace-separated) or, for unspaced texts,
    characters. A text shorter than ``n`` tokens is one shingle.
    """
    data = "\n".join(texts).encode("utf-8")
    raw = np.frombuffer(data, dtype=np.uint8)
    is_space = (raw == 32) | (raw == 10) | (raw == 9) | (raw == 13)
    b = np.where(is_space, np.uint8(32), raw).astype(np.int32)
    powers, inv_powers = _powers(len(b) + 1)
    pref = np.concatenate([np.zeros(1, np.int32), np.cumsum(b * powers[: len(b)], dtype=np.int32)])
    lens = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
    doc_start = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    doc_of_byte = np.repeat(np.arange(len(texts)), lens + 1)[: len(raw)]
    # Token starts/ends: word boundaries, or UTF-8 character starts for unspaced documents.
    prev_space = np.concatenate([[True], is_space[:-1]])
    next_space = np.concatenate([is_space[1:], [True]])
    unsp_byte = np.repeat(np.asarray(unspaced, dtype=bool), lens + 1)[: len(raw)]
    char_start = (raw & 0xC0) != 0x80
    starts = np.flatnonzero(np.where(unsp_byte, char_start & ~is_space, ~is_space & prev_space))
    ends_mask = np.where(
        unsp_byte, ~is_space & np.concatenate([char_start[1:], [True]]), ~is_space & next_space
    )
    ends = np.flatnonzero(ends_mask) + 1
    tok_doc = doc_of_byte[starts]
    n_tok = np.bincount(tok_doc, minlength=len(texts))
    n_sh = np.where(unspaced, n_chars, n_words)
    span = np.minimum(n_sh, np.maximum(n_tok, 1))  # short documents: one whole-text shingle
    tok_first = np.concatenate([[0], np.cumsum(n_tok)[:-1]])
    count = np.maximum(n_tok - span + 1, 1)
    sh_doc = np.repeat(np.arange(len(texts)), count)
    sh_rank = np.arange(len(sh_doc)) - np.repeat(
        np.concatenate([[0], np.cumsum(count)[:-1]]), count
    )
    first_tok = tok_first[sh_doc] + sh_rank
    last_tok = first_tok + span[sh_doc] - 1
    empty = n_tok[sh_doc] == 0
    s = np.where(
        empty,
        doc_start[sh_doc],
        starts[np.minimum(first_tok, len(starts) - 1)] if len(starts) else 0,
    )
    e = np.where(
        empty, doc_start[sh_doc], ends[np.minimum(last_tok, len(ends) - 1)] if len(ends) else 0
    )
    # pref[k] = sum_{i<k} b_i P^(i+1), so (pref[e] - pref[s]) / P^(s+1) is position-free.
    h = ((pref[e] - pref[s]) * inv_powers[s]).view(np.uint32)
    h ^= h >> np.uint32(16)  # murmur3's finaliser: spread the polynomial hash over all bits
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    return h, sh_doc


def minhash_signatures(
    texts: list[str], unspaced: list[bool], n_words: int, n_chars: int, a, b
) -> np.ndarray:
    """(len(texts), num_perm) uint32 signatures, computed chunk by chunk."""
    out = np.empty((len(texts), len(a)), dtype=np.uint32)
    for s in range(0, len(texts), _CHUNK_DOCS):
        part = texts[s : s + _CHUNK_DOCS]
        h, d = shingle_hashes(part, n_words, unspaced[s : s + _CHUNK_DOCS], n_chars)
        out[s : s + len(part)] = signatures(h, d, len(part), a, b)
    return out


def signatures(hashes: np.ndarray, doc: np.ndarray, n_docs: int, a, b) -> np.ndarray:
    """(n_docs, num_perm) uint32 MinHash signatures; ``doc`` must be sorted.

    Laid out permutation-major so that ``reduceat`` runs along contiguous memory (4-5x faster
    than the document-major layout).
    """
    sig = np.full((len(a), n_docs), np.iinfo(np.uint32).max, dtype=np.uint32)
    buf = np.empty((len(a), _BLOCK), dtype=np.uint32)
    for s in range(0, len(hashes), _BLOCK):
        hb, db = hashes[s : s + _BLOCK], doc[s : s + _BLOCK]
        vals = buf[:, : len(hb)]
        np.bitwise_xor(hb[None, :], b[:, None], out=vals)
        np.multiply(vals, a[:, None], out=vals)
        seg = np.flatnonzero(np.concatenate([[True], db[1:] != db[:-1]]))
        rows = db[seg]  # unique within a block; only the first may continue the previous block
        sig[:, rows] = np.minimum(sig[:, rows], np.minimum.reduceat(vals, seg, axis=1))
    return np.ascontiguousarray(sig.T)


def band_keys(sig: np.ndarray, bands: int) -> np.ndarray:
    """(n_docs, bands) int64: one hash per band of ``num_perm / bands`` signature rows."""
    n, k = sig.shape
    rows = k // bands
    mult = np.random.default_rng(12345).integers(1, 1 << 62, size=rows, dtype=np.int64) | 1
    grid = sig.reshape(n, bands, rows)
    keys = np.zeros((n, bands), dtype=np.int64)
    for j in range(rows):  # a short inner-axis .sum() is ~10x slower than this loop
        keys += grid[:, :, j].astype(np.int64) * mult[j]
    return keys ^ (keys >> 31)


def candidate_pairs(keys: np.ndarray) -> np.ndarray:
    """(m, 2) pairs of documents that share a band key: each linked to its bucket's first member."""
    n, bands = keys.shape
    out = []
    for j in range(bands):
        order = np.argsort(keys[:, j], kind="stable")
        k = keys[order, j]
        same = np.concatenate([[False], k[1:] == k[:-1]])
        if not same.any():
            continue
        head = np.maximum.accumulate(np.where(~same, np.arange(n), 0))
        idx = np.flatnonzero(same)
        out.append(np.stack([order[head[idx]], order[idx]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out).astype(np.int64)
    code = np.unique(
        np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1])
    )
    return np.stack([code // n, code % n], axis=1)


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component label (its smallest member) per node, by min-label propagation with jumping."""
    labels = np.arange(n)
    if len(pairs) == 0:
        return labels
    u, v = pairs[:, 0], pairs[:, 1]
    while True:
        m = np.minimum(labels[u], labels[v])
        new = labels.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        new = new[new]
        while not np.array_equal(new, new[new]):
            new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new
