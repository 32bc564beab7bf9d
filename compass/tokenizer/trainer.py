"""Train one SentencePiece BPE sub-tokenizer on a language group's sampled lines.

Settings follow the report (§2.1.3: BPE, max piece length 16) plus what exact round trips need:
byte fallback (no unknown token is ever produced), digits split one per token, and no
normalisation at all (no NFKC, no dummy prefix, no whitespace collapsing), so ``decode(encode(x))``
gives back ``x``.
"""

from __future__ import annotations

import io
import logging
import random
from collections import Counter

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from compass.config import ConfigError
from compass.tokenizer.config import GroupSpec, TokenizerConfig
from compass.tokenizer.specials import SPECIAL_TOKENS

log = logging.getLogger(__name__)


def group_lines(
    group: GroupSpec, samples: dict[str, list[str]], seed: int
) -> tuple[list[str], list[str]]:
    """The group's training lines (every language's sample, shuffled together) and its languages."""
    langs = list(group.langs) if group.langs else sorted(samples)
    missing = [lang for lang in langs if not samples.get(lang)]
    if missing:
        raise ConfigError(
            f"tokenizer group '{group.name}': no text for language(s) {missing} in the --data "
            f"inputs (found: {sorted(samples) or 'none'}); add their text or remove them from "
            "tokenizer.groups"
        )
    lines = [line for lang in langs for line in samples[lang]]
    random.Random(seed).shuffle(lines)
    return lines, langs


def _keep_common_chars(lines: list[str], max_chars: int) -> list[str]:
    """Lines with every character outside the ``max_chars`` most frequent replaced by a space.

    SentencePiece then makes pieces of the common characters only, and the rare ones fall back
    to byte pieces at encoding time, which is lossless. Without this a small vocabulary over
    Chinese or Thai text is refused for having more characters than ids (and SentencePiece
    accepts no character_coverage below 0.98).
    """
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(line)
    keep = {c for c, _ in counts.most_common(max_chars)}
    rare = {c for c in counts if c not in keep}
    table = str.maketrans(dict.fromkeys(rare, " "))
    return [line.translate(table) for line in lines]


def _n_chars(proto: sp_pb2.ModelProto) -> int:
    return sum(1 for p in proto.pieces if p.type == 1 and len(p.piece) == 1)


def train_sub_tokenizer(
    lines: list[str], group: GroupSpec, cfg: TokenizerConfig
) -> sp_pb2.ModelProto:
    """One BPE model over ``lines``; its vocab counts our special tokens, so sizes add up as
    told."""
    # SentencePiece's own vocab holds <unk> + 256 bytes + pieces; our other specials come later.
    spm_vocab = group.vocab_size - (len(SPECIAL_TOKENS) - 1)
    # At most half the learnable ids go to single characters; the rest must be merges.
    max_chars = (spm_vocab - 1 - 256) // 2
    try:
        proto = _train(lines, spm_vocab, cfg.character_coverage, cfg)
        too_many = _n_chars(proto) > max_chars
    except RuntimeError as e:
        if "required_chars" not in str(e):
            raise ConfigError(
                f"tokenizer group '{group.name}': SentencePiece could not train a "
                f"{group.vocab_size} vocabulary on {len(lines)} lines ({e}); give the group "
                "more text or a smaller size in tokenizer.groups / tokenizer.vocab_size"
            ) from None
        too_many = True
    if too_many:
        log.warning(
            "group '%s': too many distinct characters for %d ids; keeping the %d most "
            "frequent as pieces, the rest are spelled in bytes",
            group.name,
            group.vocab_size,
            max_chars,
        )
        try:
            proto = _train(_keep_common_chars(lines, max_chars), spm_vocab, 1.0, cfg)
        except RuntimeError as e:
            raise ConfigError(
                f"tokenizer group '{group.name}': SentencePiece could not train a "
                f"{group.vocab_size} vocabulary ({e}); raise its size"
            ) from None
    log.info(
        "sub-tokenizer '%s': %d pieces from %d lines", group.name, len(proto.pieces), len(lines)
    )
    return proto


def _train(lines: list[str], spm_vocab: int, coverage: float, cfg: TokenizerConfig):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="bpe",
        vocab_size=spm_vocab,
        max_sentencepiece_length=cfg.max_piece_length,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        character_coverage=coverage,
        max_sentence_length=cfg.max_line_bytes + 16,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=cfg.num_threads,
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        minloglevel=2,
    )
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return proto
