"""Config of ``compass data generate``: how big the built-in corpus is and what it is made of.

Defaults are a small corpus: ~12 MB of documents (a few million tokens for a 4k-vocab tokenizer),
generated in seconds on one core. The recipes in ``compass/recipes/tiny.py`` state the sizes they
generate: ``tiny`` this corpus, ``micro`` ~1 MB for the integration test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.languages import LANGS

# Document kinds and their share of the clean documents. Product facts need repetition to be
# learned by a tiny model, so product pages and reviews dominate; prose keeps the corpus general.
DEFAULT_MIX = {
    "product": 0.19,
    "brand": 0.03,
    "guide": 0.06,
    "review": 0.16,
    "query": 0.09,
    "dialogue": 0.11,
    "math_problem": 0.14,
    "prose": 0.14,
    "code": 0.04,
    "math": 0.04,
    # Facts stated and asked for again further down (``recall.py``), long pages among them.
    "recall": 0.05,
    # An order's item list, then its packing slip naming the same items (``orders.py``): text
    # that only copying predicts. Opt-in (``--datagen.mix.order=0.1``): at 10-25% it did not
    # form copying within the tiny main stage (docs/ecommerce-sft.md §3), and the demo's
    # figures are measured without it.
    "order": 0.0,
}

# Planted noise kinds and their share of the noise documents; curation measures recall per kind.
DEFAULT_NOISE_MIX = {
    "near_duplicate": 0.30,
    "boilerplate": 0.15,
    "spam": 0.15,
    "keyword_stuffing": 0.15,
    "mojibake": 0.12,
    "mixed_language": 0.13,
}


@dataclass
class DataGenConfig(Config):
    seed: int = 1234
    languages: list[str] = field(default_factory=lambda: list(LANGS))
    n_products: int = 500  # few enough that each product's facts recur ~2x per language
    n_shops: int = 60
    n_users: int = 300
    n_docs: int = 36_000  # clean documents; noise documents are added on top
    noise_fraction: float = 0.08  # noise documents per clean document
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    noise_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_NOISE_MIX))
    eval_items_per_task: int = 25  # per language and per e-commerce task category
    docs_per_file: int = 20_000
    # Recall pages: short ones fit the main pretraining context, long ones the long stage's.
    recall_short_tokens: int = 240
    recall_long_tokens: int = 1000
    recall_long_frac: float = 0.5

    def validate(self) -> None:
        bad = [lang for lang in self.languages if lang not in LANGS]
        if bad or not self.languages:
            raise ConfigError(
                f"datagen.languages = {self.languages}: use a non-empty subset of {list(LANGS)}"
            )
        unknown = sorted(set(self.mix) - set(DEFAULT_MIX))
        if unknown or not any(v > 0 for v in self.mix.values()):
            raise ConfigError(
                f"datagen.mix has unknown kinds {unknown} or no positive weight: "
                f"kinds are {sorted(DEFAULT_MIX)}"
            )
        unknown = sorted(set(self.noise_mix) - set(DEFAULT_NOISE_MIX))
        if unknown:
            raise ConfigError(
                f"datagen.noise_mix has unknown kinds {unknown}: "
                f"kinds are {sorted(DEFAULT_NOISE_MIX)}"
            )
        if not 0.0 <= self.recall_long_frac <= 1.0:
            raise ConfigError(f"datagen.recall_long_frac = {self.recall_long_frac}: use 0..1")
        if not 0.0 <= self.noise_fraction <= 1.0:
            raise ConfigError(f"datagen.noise_fraction = {self.noise_fraction}: use 0..1")
        for name in ("n_products", "n_shops", "n_users", "n_docs", "docs_per_file"):
            if getattr(self, name) < 1:
                raise ConfigError(f"datagen.{name} must be >= 1")
        if self.n_products < 20:
            raise ConfigError("datagen.n_products must be >= 20 (eval items need distractors)")
