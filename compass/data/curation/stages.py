"""The per-document stages as pure functions of a batch: both engines call exactly these.

``phase_a``: normalise → language ID → domain → heuristic filters.
``phase_b``: quality score (model trained between the phases) → exact hash → MinHash signature.
Each takes a list of records (see :mod:`records`) and returns it with survivors updated and
failures rejected in place; already-rejected records pass through untouched. Nothing here
depends on batch composition or order, which is why the Ray engine's kept set equals the local one.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from compass.data.curation.code_math import code_filter, detect_domain, math_filter
from compass.data.curation.config import CurationConfig
from compass.data.curation.filters import encoding_check, general_filter
from compass.data.curation.langid import LanguageIdentifier
from compass.data.curation.minhash import minhash_signatures, perm_params
from compass.data.curation.normalize import normalize_text
from compass.data.curation.quality import QualityModel
from compass.data.curation.records import reject, stable_hash64
from compass.languages import NO_SPACE_LANGS

_FOLD = re.compile(r"[\W_]+")


def phase_a(
    records: list[dict], cfg: CurationConfig, lid: LanguageIdentifier, stats: Counter
) -> list[dict]:
    langs = set(cfg.langid.languages)
    for rec in records:
        if rec["reason"]:
            continue
        text = normalize_text(rec["text"])
        rec["text"] = text
        if not text:
            reject(rec, "normalize", "empty_document")
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # lone surrogates from JSON "\ud800" escapes
            reject(rec, "normalize", "invalid_utf8", f"char {e.start}: {e.reason}")
            continue
        rule, value = encoding_check(text, cfg.filters)
        if rule:
            reject(rec, "normalize", rule, f"{value:.4g}")
            continue
        domain = detect_domain(text, rec["source"], cfg.source_domains)
        rec["domain"] = domain
        res = lid(text)
        if domain in ("code", "math"):
            # LID on code is noise; its comments are usually English. Not rejected for language.
            rec["lang"] = res.lang if res.lang in langs else "en"
        else:
            rec["lang"] = res.lang
            if res.lang == "other":
                reject(rec, "langid", "other_language", f"confidence {res.confidence:.2f}")
                continue
            if lid.is_mixed(res):
                reject(rec, "langid", "mixed_language", f"second {res.second_share:.2f}")
                continue
        _filter(rec, cfg, stats)
    return records


def _filter(rec: dict, cfg: CurationConfig, stats: Counter) -> None:
    text, domain = rec["text"], rec["domain"]
    if domain == "code":
        rule, value = code_filter(text, cfg.code)
    elif domain == "math":
        rule, value = math_filter(text, cfg.math)
    else:
        rule, value = general_filter(text, rec["lang"], cfg.filters)
    if domain in ("code", "math"):
        prose_rule, _ = general_filter(text, rec["lang"], cfg.filters)
        stats[f"{domain}_docs"] += 1
        if prose_rule and not rule:
            stats[f"{domain}_kept_that_prose_rules_drop"] += 1
    if rule:
        reject(rec, "filter", rule, f"{value:.4g}")


def dedup_key(text: str) -> int:
    """Exact-duplicate key: case, punctuation and whitespace folded away."""
    return stable_hash64(_FOLD.sub(" ", text.lower()).strip())


class PhaseB:
    """Quality + dedup features for a batch; holds the trained model and the permutations."""

    def __init__(self, cfg: CurationConfig, model: QualityModel) -> None:
        self.cfg = cfg
        self.model = model
        self.a, self.b = perm_params(cfg.dedup.num_perm, cfg.dedup.seed)

    def threshold(self, lang: str) -> float:
        return self.cfg.quality.lang_thresholds.get(lang, self.cfg.quality.threshold)

    def __call__(self, records: list[dict]) -> tuple[list[dict], np.ndarray, np.ndarray]:
        """(records, exact keys, signatures) — the arrays have a row per surviving record."""
        live = [r for r in records if not r["reason"]]
        scores = self.model.score([r["text"] for r in live])
        apply = set(self.cfg.quality.apply_to_domains)
        for rec, q in zip(live, scores.tolist()):
            rec["quality"] = q
            if rec["domain"] in apply and q < self.threshold(rec["lang"]):
                reject(rec, "quality", "low_quality", f"{q:.3f}")
        live = [r for r in live if not r["reason"]]
        texts = [r["text"] for r in live]
        ehash = np.fromiter((dedup_key(t) for t in texts), dtype=np.int64, count=len(texts))
        unspaced = [r["lang"] in NO_SPACE_LANGS for r in live]
        d = self.cfg.dedup
        # Case is folded: a re-cased word is the same word to a reader and to dedup.
        lowered = [t.lower() for t in texts]
        sig = minhash_signatures(
            lowered, unspaced, d.shingle_words, d.shingle_chars_no_space, self.a, self.b
        )
        return records, ehash, sig
