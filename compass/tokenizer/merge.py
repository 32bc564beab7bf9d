"""Merge sub-tokenizers into one SentencePiece BPE model with a well-defined segmentation.

SentencePiece's BPE encoder repeatedly joins the adjacent pair whose concatenation is a piece with
the highest score. A merged vocabulary therefore needs one total order over all pieces:

* Each sub-tokenizer's learned pieces come in merge order (rank 0 = its first merge). A piece's
  merged priority is its best ``(rank / group size, group index)`` over the groups that learned
  it: the groups' merge sequences interleave by relative position, so a 20k group spreads over the
  whole range instead of crowding the top next to a 150k group's most frequent merges (measured
  on held-out text: 3-6% fewer tokens for id, ms, tl, pt, en than interleaving by raw rank, 3%
  more for fr). A piece's own parts, learned earlier in the group that ranks it best, always rank
  before it: every piece keeps a derivation.
* Scores are ``-position``: all distinct, so no tie is left to the implementation, and the
  HF ``tokenizer.json`` built from the same order gives the same ids.
* A piece that still cannot be produced from its own text (a higher-priority piece from another
  group cuts through it) is unreachable; it is dropped and the next candidate takes its slot, until
  every kept piece encodes to itself.
* Over the target size the lowest-priority pieces go; under it, reserved tokens fill the ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from compass.config import ConfigError
from compass.tokenizer.specials import (
    FIRST_PIECE_ID,
    MIN_LEARNED_PIECES,
    N_BYTES,
    SPECIAL_TOKENS,
    byte_piece,
    reserved_token,
)

log = logging.getLogger(__name__)

NORMAL, UNKNOWN, USER_DEFINED, BYTE = 1, 2, 4, 6
MAX_REPAIR_ROUNDS = 12


@dataclass
class MergeStats:
    candidates: int  # distinct learned pieces over all groups
    kept: int
    chars: int
    dropped_unreachable: int
    dropped_over_size: int
    reserved: int

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _learned_and_chars(proto: sp_pb2.ModelProto) -> tuple[list[str], list[str]]:
    learned, chars = [], []
    for p in proto.pieces:
        if p.type == NORMAL:
            (chars if len(p.piece) == 1 else learned).append(p.piece)
    return learned, chars


def merge_order(protos: list[sp_pb2.ModelProto]) -> tuple[list[str], list[str]]:
    """All learned pieces in merged priority order, and the union of single characters."""
    best: dict[str, tuple[Fraction, int]] = {}
    chars: dict[str, None] = {}
    for gi, proto in enumerate(protos):
        learned, group_chars = _learned_and_chars(proto)
        for rank, piece in enumerate(learned):
            key = (Fraction(rank, len(learned)), gi)  # exact: no float ties between groups
            if piece not in best or key < best[piece]:
                best[piece] = key
        chars.update(dict.fromkeys(group_chars))
    ordered = sorted(best, key=lambda piece: (best[piece], piece))
    return ordered, list(chars)


def build_proto(
    template: sp_pb2.ModelProto, learned: list[str], chars: list[str], n_reserved: int
) -> sp_pb2.ModelProto:
    """The final model: specials, 256 bytes, learned pieces by priority, characters, reserved
    ids."""
    proto = sp_pb2.ModelProto()
    proto.trainer_spec.CopyFrom(template.trainer_spec)
    proto.normalizer_spec.CopyFrom(template.normalizer_spec)
    for i, tok in enumerate(SPECIAL_TOKENS):
        proto.pieces.add(piece=tok, score=0.0, type=UNKNOWN if i == 0 else USER_DEFINED)
    for b in range(N_BYTES):
        proto.pieces.add(piece=byte_piece(b), score=0.0, type=BYTE)
    for i, piece in enumerate(learned + chars):
        proto.pieces.add(piece=piece, score=-float(i), type=NORMAL)
    for i in range(n_reserved):
        proto.pieces.add(piece=reserved_token(i), score=0.0, type=USER_DEFINED)
    proto.trainer_spec.vocab_size = len(proto.pieces)
    proto.trainer_spec.unk_id = 0
    proto.trainer_spec.bos_id = -1
    proto.trainer_spec.eos_id = -1
    proto.trainer_spec.pad_id = -1
    return proto


def unreachable_pieces(proto: sp_pb2.ModelProto, num_threads: int = 2) -> list[str]:
    """Learned pieces that encoding their own text does not give back as one token."""
    sp = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    ids, texts = [], []
    for i, p in enumerate(proto.pieces):
        if p.type == NORMAL and len(p.piece) > 1:
            ids.append(i)
            texts.append(p.piece.replace("\u2581", " "))
    encoded = sp.encode(texts, num_threads=num_threads)
    return [proto.pieces[i].piece for i, enc in zip(ids, encoded) if enc != [i]]


def merge_sub_tokenizers(
    protos: list[sp_pb2.ModelProto], vocab_size: int, num_threads: int = 2
) -> tuple[sp_pb2.ModelProto, MergeStats]:
    """One model of exactly ``vocab_size`` pieces from the sub-tokenizers, all pieces reachable."""
    candidates, chars = merge_order(protos)
    budget = vocab_size - FIRST_PIECE_ID - len(chars)
    if budget < MIN_LEARNED_PIECES:
        raise ConfigError(
            f"tokenizer.vocab_size = {vocab_size} leaves {budget} learned pieces after "
            f"{FIRST_PIECE_ID} special+byte ids and {len(chars)} characters; raise "
            "tokenizer.vocab_size or lower tokenizer.character_coverage"
        )
    n_candidates = len(candidates)
    dropped: set[str] = set()
    for _ in range(MAX_REPAIR_ROUNDS):
        keep = candidates[:budget]
        proto = build_proto(protos[0], keep, chars, budget - len(keep))
        bad = unreachable_pieces(proto, num_threads)
        if not bad:
            break
        dropped.update(bad)
        bad_set = set(bad)
        candidates = [c for c in candidates if c not in bad_set]
    else:  # still unreachable after the repair rounds: drop them without refilling
        keep = [c for c in keep if c not in bad_set]
        proto = build_proto(protos[0], keep, chars, budget - len(keep))
    stats = MergeStats(
        candidates=n_candidates,
        kept=len(keep),
        chars=len(chars),
        dropped_unreachable=len(dropped),
        dropped_over_size=max(0, n_candidates - len(dropped) - len(keep)),
        reserved=budget - len(keep),
    )
    log.info("merged vocabulary: %s", stats.to_dict())
    if stats.reserved > 0.01 * vocab_size:
        log.warning(
            "%d of %d ids are reserved fillers: the sub-tokenizers found fewer distinct pieces "
            "than tokenizer.vocab_size; give them more text or lower the size",
            stats.reserved,
            vocab_size,
        )
    return proto, stats
