"""Selective resampling (§2.1.2): a repetition weight per document, and mixture weights.

A document's weight is how many times the tokenised stream should see it per epoch:
``quality_factor × cluster_occurrence / kept_copies``. The quality factor grows linearly from 1 at
the quality threshold to ``1 + quality_boost`` at a perfect score; a cluster that occurred ``n``
times counts as ``n ** occurrence_power`` spread over the copies dedup kept, so the natural
frequency of popular content survives, dampened, instead of being erased.

Mixture weights: each language's share is its weighted size raised to ``lang_temperature`` and
renormalised (temperature < 1 lifts low-resource languages), split over domains by weighted size.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from compass.data.curation.config import ResampleConfig


def doc_weights(
    quality: np.ndarray,
    dup_count: np.ndarray,
    kept_copies: np.ndarray,
    threshold: float,
    cfg: ResampleConfig,
) -> np.ndarray:
    q = np.clip((quality - threshold) / np.maximum(1e-6, 1.0 - threshold), 0.0, 1.0)
    factor = 1.0 + cfg.quality_boost * q
    occurrence = dup_count.astype(np.float64) ** cfg.occurrence_power / np.maximum(kept_copies, 1)
    return np.clip(factor * occurrence, 0.0, cfg.max_weight).astype(np.float32)


def mixture_weights(
    langs: list[str], domains: list[str], sizes: np.ndarray, weights: np.ndarray, temperature: float
) -> dict[str, dict]:
    """{"lang": {lang: p}, "lang_domain": {"lang/domain": p}}; each family sums to 1."""
    mass: dict[tuple[str, str], float] = defaultdict(float)
    for lang, dom, s, w in zip(langs, domains, sizes.tolist(), weights.tolist()):
        mass[(lang, dom)] += s * w
    lang_mass: dict[str, float] = defaultdict(float)
    for (lang, _), m in mass.items():
        lang_mass[lang] += m
    tempered = {k: v**temperature for k, v in lang_mass.items() if v > 0}
    z = sum(tempered.values()) or 1.0
    p_lang = {k: v / z for k, v in sorted(tempered.items())}
    p_ld = {
        f"{lang}/{dom}": p_lang[lang] * m / lang_mass[lang]
        for (lang, dom), m in sorted(mass.items())
        if lang in p_lang
    }
    return {"lang": p_lang, "lang_domain": p_ld, "natural_lang": _normalise(lang_mass)}


def _normalise(d: dict[str, float]) -> dict[str, float]:
    z = sum(d.values()) or 1.0
    return {k: v / z for k, v in sorted(d.items())}
