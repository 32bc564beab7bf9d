"""Tokenizer config: vocabulary size, language groups for sub-tokenizers, per-language sampling
caps.

Defaults (a 4,096-piece vocabulary, one group over every language, at most 20,000 lines and 2 MB
sampled per language) suit a corpus of a few MB; each recipe in ``compass/recipes`` states the
vocabulary size and sampling caps it trains. The report's tokenizer (§2.1.3) is three SentencePiece
BPE sub-tokenizers merged into one 180k vocabulary; ``groups`` spells that as
``zh+en+id+ms+pt+tl+th+vi:150000;nl+fr+de+el+it+pl+ru+es+uk:20000;zh:50000``.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError

# The report samples 2M pieces of data per language.
REPORT_GROUPS = "zh+en+id+ms+pt+tl+th+vi:150000;nl+fr+de+el+it+pl+ru+es+uk:20000;zh:50000"


@dataclass
class GroupSpec:
    """One sub-tokenizer: the languages it is trained on and its own vocabulary size."""

    langs: tuple[str, ...]  # empty = every language in the data
    vocab_size: int

    @property
    def name(self) -> str:
        return "+".join(self.langs) if self.langs else "all"


def parse_groups(spec: str, vocab_size: int) -> list[GroupSpec]:
    """``"zh+en:150000;zh:50000"`` -> groups. An empty spec is one group of every language."""
    spec = spec.strip()
    if not spec:
        return [GroupSpec((), vocab_size)]
    groups = []
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        langs, sep, size = part.rpartition(":")
        if not sep or not langs.strip() or not size.strip().isdigit():
            raise ConfigError(
                f"tokenizer.groups: cannot parse group '{part}'; write LANG+LANG:VOCAB_SIZE "
                f"groups joined by ';', e.g. '{REPORT_GROUPS}'"
            )
        names = tuple(lang.strip() for lang in langs.split("+") if lang.strip())
        groups.append(GroupSpec(() if names == ("*",) else names, int(size)))
    if not groups:
        raise ConfigError("tokenizer.groups: no group given; leave it empty for a single group")
    return groups


@dataclass
class TokenizerConfig(Config):
    # Final vocabulary size, special tokens and byte pieces included; must equal model.vocab_size.
    vocab_size: int = 4096
    # Sub-tokenizers to train and merge: 'LANG+LANG:SIZE;...'; empty = one group, all languages.
    groups: str = ""
    # Balanced sampling: at most this many training lines and bytes per language.
    max_lines_per_lang: int = 20_000
    max_bytes_per_lang: int = 2_000_000
    # Languages to keep from the data (empty = all that appear).
    languages: list[str] | None = None
    max_piece_length: int = 16
    # Characters covering this share of the text become pieces; rarer ones fall back to bytes.
    character_coverage: float = 0.9995
    # Training lines longer than this (bytes) are cut at newlines; SentencePiece skips longer ones.
    max_line_bytes: int = 4096
    num_threads: int = 2
    seed: int = 1234

    def group_specs(self) -> list[GroupSpec]:
        return parse_groups(self.groups, self.vocab_size)

    def validate(self) -> None:
        from compass.tokenizer.specials import min_vocab_size

        if self.vocab_size < min_vocab_size():
            raise ConfigError(
                f"tokenizer.vocab_size = {self.vocab_size} is smaller than "
                "the special tokens + 256 "
                f"byte pieces + a few merges ({min_vocab_size()}); raise tokenizer.vocab_size"
            )
        for g in self.group_specs():
            if g.vocab_size < min_vocab_size():
                raise ConfigError(
                    f"tokenizer.groups: group '{g.name}' has vocab {g.vocab_size} < "
                    f"{min_vocab_size()} (special tokens + bytes); give it a larger size"
                )
        if self.max_lines_per_lang <= 0 or self.max_bytes_per_lang <= 0:
            raise ConfigError("tokenizer.max_lines_per_lang and max_bytes_per_lang must be > 0")
        if not 0.98 <= self.character_coverage <= 1.0:
            raise ConfigError(
                "tokenizer.character_coverage must be in [0.98, 1.0] (SentencePiece's range)"
            )
