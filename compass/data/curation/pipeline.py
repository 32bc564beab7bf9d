"""``curate(config, out_dir)``: the in-process engine, and the steps both engines share.

Flow: read → phase A (normalise, LID, domain, filters) → train the quality model on a sample of
the survivors → phase B (quality, exact key, MinHash) → :func:`finalize` (dedup clusters, keep
policy, resampling weights; documents sorted by uid so ties break identically) → outputs.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compass.data.curation.config import CurationConfig
from compass.data.curation.dedup import deduplicate
from compass.data.curation.langid import LanguageIdentifier
from compass.data.curation.normalize import normalize_text
from compass.data.curation.quality import QualityModel, make_negatives
from compass.data.curation.readers import list_inputs, read_file
from compass.data.curation.records import reject, stable_hash64
from compass.data.curation.resample import doc_weights
from compass.data.curation.stages import PhaseB, phase_a
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class CurationResult:
    kept: list[dict]  # records with quality, dup_count, weight
    rejected: list[dict]
    stats: Counter = field(default_factory=Counter)
    timings: dict[str, float] = field(default_factory=dict)
    input_bytes: int = 0
    model: QualityModel | None = None


def batched(items: Iterable[dict], n: int) -> Iterator[list[dict]]:
    it = iter(items)
    while batch := list(itertools.islice(it, n)):
        yield batch


def content_key(r: dict) -> tuple[int, str]:
    """Documents ordered by their text's hash: the same order whatever directory holds the input
    files (a uid is ``path:offset``, so ordering by it made results depend on the run's path)."""
    return stable_hash64(r["text"]), r["uid"]


def training_texts(survivors: Iterable[dict], n: int) -> list[str]:
    """A sample that depends only on the set of documents, not on their order, engine or path."""
    keyed = sorted((content_key(r), r["text"]) for r in survivors)
    return [t for _, t in keyed[:n]]


def _texts_from(paths: list[str], cfg: CurationConfig) -> list[str]:
    recs = (r for f in list_inputs(paths) for r in read_file(f, cfg.reader))
    texts = (normalize_text(r["text"]) for r in recs if not r["reason"])
    return [t for t in itertools.islice(texts, cfg.quality.max_train_docs) if t]


def train_quality(sample: list[str], cfg: CurationConfig, seed: int) -> QualityModel:
    q = cfg.quality
    pos = _texts_from(q.positives, cfg) if q.positives else sample
    neg = _texts_from(q.negatives, cfg) if q.negatives else make_negatives(pos, seed)
    model = QualityModel(q)
    if pos and neg:
        model.fit(pos, neg, seed=seed)
        log.info("quality model trained on %d positive / %d negative documents", len(pos), len(neg))
    else:
        log.warning("no training documents for the quality model: every score is 0.5")
    return model


def finalize(
    survivors: list[dict], ehash: np.ndarray, sig: np.ndarray, cfg: CurationConfig
) -> tuple[list[dict], list[dict], dict]:
    """Dedup + weights over all phase-B survivors; returns (kept, rejected, dedup stats)."""
    order = sorted(range(len(survivors)), key=lambda i: content_key(survivors[i]))
    docs = [survivors[i] for i in order]
    ehash, sig = ehash[order], sig[order]
    quality = np.array([d["quality"] for d in docs], dtype=np.float64)
    res = deduplicate(sig, ehash, quality, cfg.dedup)
    kept_copies = np.bincount(res.cluster[res.keep], minlength=len(docs))[res.cluster]
    thresholds = np.array(
        [cfg.quality.lang_thresholds.get(d["lang"], cfg.quality.threshold) for d in docs]
    )
    weights = doc_weights(quality, res.dup_count, kept_copies, thresholds, cfg.resample)
    kept, rejected = [], []
    for i, d in enumerate(docs):
        d["dup_count"] = int(res.dup_count[i])
        if res.keep[i]:
            d["weight"] = float(weights[i])
            kept.append(d)
        else:
            rejected.append(reject(d, "dedup", res.reason[i], f"cluster of {d['dup_count']}"))
    stats = {
        "exact_pairs": res.n_exact_pairs,
        "near_pairs": res.n_near_pairs,
        "clusters_with_duplicates": int(np.sum(np.bincount(res.cluster) > 1)),
        "docs_in_duplicate_clusters": int(np.sum(res.dup_count > 1)),
    }
    return kept, rejected, stats


def run_local(cfg: CurationConfig) -> CurationResult:
    files = list_inputs(cfg.inputs)
    if not files:
        raise FileNotFoundError(
            f"curation.inputs = {cfg.inputs}: no files found; pass --input PATH"
        )
    lid = LanguageIdentifier(cfg.langid)
    stats: Counter = Counter()
    t0 = time.perf_counter()
    records: list[dict] = []
    reads = (r for f in files for r in read_file(f, cfg.reader))
    with progress_bar(total=len(files), desc="read+filter", unit="file", leave=False) as bar:
        seen_files: set[str] = set()
        for batch in batched(reads, cfg.reader.batch_size):
            records += phase_a(batch, cfg, lid, stats)
            new = {r["file"] for r in batch} - seen_files
            seen_files |= new
            bar.update(len(new))
    t1 = time.perf_counter()
    rejected = [r for r in records if r["reason"]]
    survivors = [r for r in records if not r["reason"]]
    model = train_quality(training_texts(survivors, cfg.quality.max_train_docs), cfg, seed=0)
    t2 = time.perf_counter()
    phase_b = PhaseB(cfg, model)
    keys, sigs = [], []
    for batch in progress_bar(
        list(batched(survivors, cfg.reader.batch_size)), desc="quality+minhash", leave=False
    ):
        _, ehash, sig = phase_b(batch)
        keys.append(ehash)
        sigs.append(sig)
    rejected += [r for r in survivors if r["reason"]]
    live = [r for r in survivors if not r["reason"]]
    t3 = time.perf_counter()
    ehash = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    sig = np.concatenate(sigs) if sigs else np.zeros((0, cfg.dedup.num_perm), dtype=np.uint32)
    kept, dedup_rejected, dstats = finalize(live, ehash, sig, cfg)
    t4 = time.perf_counter()
    stats.update({f"dedup_{k}": v for k, v in dstats.items()})
    timings = {"read_normalize_lid_filter": t1 - t0, "quality_train": t2 - t1}
    timings.update({"quality_minhash": t3 - t2, "dedup_resample": t4 - t3})
    nbytes = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    return CurationResult(kept, rejected + dedup_rejected, stats, timings, nbytes, model)
