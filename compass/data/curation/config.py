"""Config of ``compass data curate``: every rule is a named threshold a recipe or the CLI can
change.

Defaults are general thresholds for the built-in generator's corpus, at any size: its clean
documents (short reviews, queries and product pages included) pass and its planted noise does
not. Recipes that curate generated data (``tiny``, ``micro``, ``small``) use them unchanged.
Web-scale recipes raise the length minimums (``filters.min_words``) toward Gopher's 50 and restore
Gopher's repetition limits (:func:`web_scale_curation`, the report's recipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from compass.config import Config, ConfigError
from compass.languages import LANGS

DOMAINS = ("general", "ecommerce", "code", "math")

# The generator's ``source`` names a document kind; a real corpus may name anything else, and then
# the domain is detected from the text alone.
DEFAULT_SOURCE_DOMAINS = {
    "product": "ecommerce",
    "brand": "ecommerce",
    "review": "ecommerce",
    "query": "ecommerce",
    "dialogue": "ecommerce",
    "math_problem": "ecommerce",
    "prose": "general",
    "guide": "general",
    "recall": "ecommerce",
    "order": "ecommerce",
    "code": "code",
    "math": "math",
}


@dataclass
class ReaderConfig(Config):
    max_doc_bytes: int = 4_000_000  # a larger document is rejected unread as document_too_large
    text_fields: list[str] = field(default_factory=lambda: ["text", "content", "raw_content"])
    batch_size: int = 2048


@dataclass
class LangIdConfig(Config):
    languages: list[str] = field(default_factory=lambda: list(LANGS))
    min_confidence: float = 0.5  # below it the document is `other`
    max_chars: int = 2000  # LID reads the first N characters; longer adds time, not accuracy
    idms_resolver: Literal["lingua", "markers", "none"] = "lingua"
    # Mixed text: a second of the eight languages (not a sibling such as ceb for tl) holds more
    # than this share. English gets a higher limit: SEA shop text code-switches into it.
    mixed_max_second_share: float = 0.15
    mixed_max_english_share: float = 0.35


@dataclass
class FilterConfig(Config):
    """General prose rules (Gopher / C4 / FineWeb style); each key is one rule's threshold.

    The repetition limits are looser than Gopher's (0.20/0.18/0.16, 0.15/0.10): templated
    e-commerce text (listings, spec sheets, worked price problems) repeats n-grams by nature,
    and Gopher's values rejected a quarter of the generator's clean documents.
    """

    min_words: int = 6
    max_words: int = 200_000
    min_mean_word_len: float = 2.0
    max_mean_word_len: float = 12.0
    chars_per_word_no_space: float = 2.5  # zh/th: characters counted as this many per word
    max_symbol_word_ratio: float = 0.1  # '#' and '…' per word
    max_bullet_line_frac: float = 0.9
    max_ellipsis_line_frac: float = 0.3
    min_alpha_word_frac: float = 0.5
    min_terminal_punct_line_frac: float = 0.0  # C4's rule; 0 disables it (titles and queries)
    max_dup_line_frac: float = 0.3
    max_dup_para_frac: float = 0.3
    max_dup_line_char_frac: float = 0.2
    max_top_2gram_frac: float = 0.30
    max_top_3gram_frac: float = 0.30
    max_top_4gram_frac: float = 0.30
    max_dup_5gram_frac: float = 0.75
    max_dup_10gram_frac: float = 0.60
    max_top_word_frac: float = 0.25  # keyword stuffing
    min_words_for_word_frac: int = 30
    max_boilerplate_hits: int = 1
    max_replacement_char_frac: float = 0.001
    max_mojibake_frac: float = 0.005
    max_url_word_frac: float = 0.2
    max_upper_frac: float = 0.6
    max_exclaim_frac: float = 0.02


@dataclass
class CodeFilterConfig(Config):
    min_lines: int = 3
    max_line_len: int = 1000
    max_mean_line_len: float = 120.0
    min_alnum_frac: float = 0.35
    max_dup_line_frac: float = 0.5
    max_hex_blob_frac: float = 0.3  # base64/hex blobs: data, not code


@dataclass
class MathFilterConfig(Config):
    min_chars: int = 40
    min_math_symbol_frac: float = 0.01
    max_dup_line_frac: float = 0.4
    max_unbalanced_delims: int = 2


@dataclass
class QualityConfig(Config):
    positives: list[str] = field(default_factory=list)  # paths; empty = filtered docs of the run
    negatives: list[str] = field(default_factory=list)  # paths; empty = corrupted positives
    n_buckets: int = 1 << 18
    ngram_bytes: list[int] = field(default_factory=lambda: [3, 5])
    max_train_docs: int = 4000
    epochs: int = 8
    lr: float = 0.5
    l2: float = 1e-5
    threshold: float = 0.2
    lang_thresholds: dict[str, float] = field(default_factory=dict)
    # Code and math were judged by their own rules; a prose-trained score must not veto them.
    apply_to_domains: list[str] = field(default_factory=lambda: ["general", "ecommerce"])


@dataclass
class DedupConfig(Config):
    num_perm: int = 128
    bands: int = 16  # rows per band = num_perm / bands; threshold ~ (1/bands)^(1/rows)
    shingle_words: int = 5
    shingle_chars_no_space: int = 7
    min_jaccard: float = 0.7  # candidate pairs are verified on their signatures
    hq_quality: float = 0.7  # a cluster at or above this mean quality keeps up to hq_max_copies
    hq_max_copies: int = 3
    seed: int = 1


@dataclass
class ResampleConfig(Config):
    quality_boost: float = 1.0  # weight = (1 + boost*(q - threshold)/(1 - threshold)) * occurrence
    occurrence_power: float = 0.5  # cluster of n counts as n**power across its kept copies
    max_weight: float = 4.0
    lang_temperature: float = 0.7  # mixture: p_lang ∝ size**temperature (<1 lifts small languages)


@dataclass
class CurationConfig(Config):
    inputs: list[str] = field(default_factory=lambda: ["runs/data/generated/docs"])
    engine: Literal["local", "ray"] = "local"
    ray_address: str = ""  # empty: local ray.init
    ray_num_cpus: int = 2  # local ray.init size, and actors per map stage
    source_domains: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SOURCE_DOMAINS))
    rows_per_file: int = 50_000
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    code: CodeFilterConfig = field(default_factory=CodeFilterConfig)
    math: MathFilterConfig = field(default_factory=MathFilterConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    resample: ResampleConfig = field(default_factory=ResampleConfig)

    def validate(self) -> None:
        bad = [d for d in self.source_domains.values() if d not in DOMAINS]
        if bad:
            raise ConfigError(f"curation.source_domains has domains {bad}: choose from {DOMAINS}")
        unknown = [lang for lang in self.langid.languages if lang not in LANGS]
        if unknown:
            raise ConfigError(f"curation.langid.languages has {unknown}: supported are {LANGS}")
        if self.dedup.num_perm % self.dedup.bands:
            raise ConfigError(
                f"curation.dedup.num_perm={self.dedup.num_perm} must be a multiple of "
                f"curation.dedup.bands={self.dedup.bands}"
            )
        if not 0.0 <= self.quality.threshold < 1.0:
            raise ConfigError("curation.quality.threshold must be in [0, 1)")
        if self.dedup.hq_max_copies < 1:
            raise ConfigError("curation.dedup.hq_max_copies must be >= 1")


def web_scale_curation() -> CurationConfig:
    """Curation of web-scale corpora (the report's recipe): Gopher's length and repetition limits,
    Ray Data on a cluster, more permutations for a sharper LSH threshold."""
    cfg = CurationConfig(inputs=[], engine="ray", ray_address="auto", ray_num_cpus=64)
    cfg.rows_per_file = 200_000
    cfg.reader.max_doc_bytes = 10_000_000
    f = cfg.filters
    f.min_words, f.max_words = 50, 100_000
    f.max_top_2gram_frac, f.max_top_3gram_frac, f.max_top_4gram_frac = 0.20, 0.18, 0.16
    f.max_dup_5gram_frac, f.max_dup_10gram_frac = 0.15, 0.10
    f.min_alpha_word_frac = 0.8
    cfg.quality.max_train_docs = 200_000
    cfg.dedup.num_perm, cfg.dedup.bands = 256, 32
    return cfg
