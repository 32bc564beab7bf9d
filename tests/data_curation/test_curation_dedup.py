"""MinHash/LSH and quality features against plain Python oracles; dedup keep policy; weights."""

from __future__ import annotations

import itertools
import random

import numpy as np

from compass.data.curation.config import DedupConfig, QualityConfig, ResampleConfig
from compass.data.curation.dedup import deduplicate
from compass.data.curation.minhash import (
    band_keys,
    candidate_pairs,
    connected_components,
    minhash_signatures,
    perm_params,
    shingle_hashes,
)
from compass.data.curation.quality import QualityModel, featurize, make_negatives
from compass.data.curation.resample import doc_weights, mixture_weights

M32 = 0xFFFFFFFF


def _shingles(text: str, n: int, unspaced: bool) -> set[str]:
    toks = list(text.replace(" ", "").replace("\n", "")) if unspaced else text.split()
    if not toks:
        return {""}
    n = min(n, len(toks))
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def _corpus(seed: int = 0, n: int = 60) -> tuple[list[str], list[bool]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)]
    texts, unspaced = [], []
    for i in range(n):
        if i % 5 == 4:
            texts.append(
                "".join(rng.choice("价格很好快递包装完整满意") for _ in range(rng.randint(3, 30)))
            )
            unspaced.append(True)
        else:
            words = [rng.choice(vocab) for _ in range(rng.randint(1, 25))]
            texts.append(" ".join(words))
            unspaced.append(False)
    texts[7] = texts[3] + " extra"  # a near duplicate
    texts[10] = ""
    return texts, unspaced


def test_shingle_hashes_match_distinct_shingles():
    texts, unspaced = _corpus()
    h, doc = shingle_hashes(texts, 3, unspaced, 4)
    for i, (t, u) in enumerate(zip(texts, unspaced)):
        mine = h[doc == i]
        oracle = _shingles(t, 4 if u else 3, u)
        assert len(mine) == len(oracle) + (len(mine) - len(set(mine.tolist()))), i
        assert len(set(mine.tolist())) == len(oracle), (i, t)
    # the same shingle hashes the same in any document and position
    h1, _ = shingle_hashes(["x a b c"], 3, [False], 4)
    h2, _ = shingle_hashes(["a b c y z"], 3, [False], 4)
    assert h1[1] == h2[0]


def test_signatures_equal_a_python_loop_and_estimate_jaccard():
    texts, unspaced = _corpus(1)
    a, b = perm_params(64, 3)
    sig = minhash_signatures(texts, unspaced, 3, 4, a, b)
    h, doc = shingle_hashes(texts, 3, unspaced, 4)
    for i in range(0, len(texts), 7):
        hs = [int(x) for x in h[doc == i]]
        oracle = [min(((x ^ int(bk)) * int(ak)) & M32 for x in hs) for ak, bk in zip(a, b)]
        assert sig[i].tolist() == oracle
    errs = []
    for i, j in itertools.combinations(range(0, 40), 2):
        if unspaced[i] != unspaced[j]:
            continue
        si, sj = _shingles(texts[i], 3, False), _shingles(texts[j], 3, False)
        if unspaced[i]:
            si, sj = _shingles(texts[i], 4, True), _shingles(texts[j], 4, True)
        exact = len(si & sj) / len(si | sj)
        errs.append(abs((sig[i] == sig[j]).mean() - exact))
    assert np.mean(errs) < 0.05


def test_lsh_candidates_and_components_match_brute_force():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 4, size=(300, 8), dtype=np.uint32)  # many band collisions
    keys = band_keys(sig, 4)
    pairs = candidate_pairs(keys)
    labels = connected_components(len(sig), pairs)
    parent = list(range(len(sig)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for band in range(4):
        seen = {}
        for i in range(len(sig)):
            key = tuple(sig[i, band * 2 : band * 2 + 2].tolist())
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    oracle = [find(i) for i in range(len(sig))]
    groups = {}
    for i, r in enumerate(oracle):
        groups.setdefault(r, []).append(i)
    for members in groups.values():
        assert len({int(labels[m]) for m in members}) == 1
        assert int(labels[members[0]]) == min(members)
    assert len(set(labels.tolist())) == len(groups)


def test_keep_policy_high_quality_keeps_k_low_quality_collapses():
    base_hq = "the blender crushes ice very well and is easy to clean after every smoothie"
    base_lq = "cheap cheap deal deal click buy now best price best offer today only here"
    texts = [base_hq, base_hq + " yes", base_hq, base_hq + " ok", base_lq, base_lq + " now"]
    texts += ["a totally unrelated sentence about rain in the north this afternoon"]
    quality = np.array([0.9, 0.95, 0.9, 0.85, 0.1, 0.2, 0.5])
    cfg = DedupConfig(hq_quality=0.7, hq_max_copies=2, min_jaccard=0.5)
    a, b = perm_params(cfg.num_perm, cfg.seed)
    sig = minhash_signatures(texts, [False] * len(texts), 5, 7, a, b)
    ehash = np.array([hash(t) for t in texts], dtype=np.int64)
    res = deduplicate(sig, ehash, quality, cfg)
    assert res.dup_count.tolist() == [4, 4, 4, 4, 2, 2, 1]
    assert res.keep.tolist() == [True, True, False, False, False, True, True]
    assert res.reason[2] == "exact_duplicate" and res.reason[3] == "near_duplicate"
    assert res.reason[4] == "near_duplicate"


def test_featurize_matches_a_python_oracle():
    texts = ["abcab", "", "价格"]
    n_buckets, bits = 1 << 10, 10
    indptr, idx, val = featurize(texts, n_buckets, [3])
    P, MIX, M64 = 0x100000001B3, 0x9E3779B97F4A7C15, (1 << 64) - 1
    for i, t in enumerate(texts):
        b = t.encode()
        counts = {}
        for s in range(len(b) - 2):
            h = 0
            for byte in b[s : s + 3]:
                h = (h * P + byte) & M64
            bucket = (((h + 3) * MIX) & M64) >> (64 - bits)
            counts[bucket] = counts.get(bucket, 0) + 1
        got = dict(zip(idx[indptr[i] : indptr[i + 1]].tolist(), val[indptr[i] : indptr[i + 1]]))
        assert set(got) == set(counts)
        norm = np.sqrt(sum(np.log1p(c) ** 2 for c in counts.values())) if counts else 1
        for k, c in counts.items():
            assert abs(got[k] - np.log1p(c) / norm) < 1e-6


def test_quality_model_separates_fluent_from_corrupted_text():
    rng = random.Random(0)
    subjects = ["The seller", "My sister", "This shop", "The courier", "Our team", "The app"]
    verbs = ["packed the order", "answered quickly", "shipped the parcel", "fixed the bug"]
    tails = ["before noon.", "with care.", "on Friday.", "as promised.", "without delay."]
    pos = [
        " ".join(
            f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)}" for _ in range(3)
        )
        for _ in range(400)
    ]
    neg = make_negatives(pos, seed=1)
    model = QualityModel(QualityConfig(epochs=6))
    model.fit(pos[:300], neg[:300], seed=0)
    p, n = model.score(pos[300:]), model.score(neg[300:])
    assert ((p[:, None] > n[None, :]).mean()) > 0.95  # held-out AUC
    assert n.min() >= 0.0 and p.max() <= 1.0


def test_resampling_weights_and_mixture():
    cfg = ResampleConfig(quality_boost=1.0, occurrence_power=0.5, max_weight=4.0)
    w = doc_weights(
        np.array([0.2, 1.0, 1.0, 0.6]), np.array([1, 1, 4, 9]), np.array([1, 1, 2, 1]), 0.2, cfg
    )
    assert np.allclose(w, [1.0, 2.0, 2.0 * 2 / 2, min(1.5 * 3, 4.0)])  # last one clipped
    mix = mixture_weights(
        ["en", "en", "th"],
        ["general", "code", "general"],
        np.array([900.0, 100, 10]),
        np.ones(3),
        temperature=0.5,
    )
    assert abs(sum(mix["lang"].values()) - 1) < 1e-9
    assert abs(sum(mix["lang_domain"].values()) - 1) < 1e-9
    assert mix["lang"]["th"] > mix["natural_lang"]["th"]  # temperature lifts the small language
    assert abs(mix["lang_domain"]["en/code"] / mix["lang"]["en"] - 0.1) < 1e-9
