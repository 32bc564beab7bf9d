"""Sub-tokenizer merging: priority order, exact size, every piece reachable, deterministic."""

from __future__ import annotations

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from compass.tokenizer import specials as S
from compass.tokenizer.build import train_tokenizer
from compass.tokenizer.config import TokenizerConfig
from compass.tokenizer.merge import merge_order, merge_sub_tokenizers, unreachable_pieces


def _proto(learned: list[str], chars: str) -> sp_pb2.ModelProto:
    p = sp_pb2.ModelProto()
    p.pieces.add(piece="<unk>", type=2)
    for i, piece in enumerate(learned + list(chars)):
        p.pieces.add(piece=piece, score=-float(i), type=1)
    p.trainer_spec.model_type = 2
    p.trainer_spec.byte_fallback = True
    p.normalizer_spec.name = "identity"
    p.normalizer_spec.add_dummy_prefix = False
    p.normalizer_spec.remove_extra_whitespaces = False
    p.normalizer_spec.escape_whitespaces = True
    return p


def test_merge_order_interleaves_ranks_and_dedups():
    a = _proto(["ab", "abc", "cd"], "abcd")
    b = _proto(["cd", "xy", "ab"], "cdxy")
    order, chars = merge_order([a, b])
    # position 0: ab (group 0), cd (group 1); 1/3: abc, xy; cd/ab already placed.
    assert order == ["ab", "cd", "abc", "xy"]
    assert chars == ["a", "b", "c", "d", "x", "y"]


def test_merge_exact_size_truncates_lowest_priority_and_pads():
    letters = "abcdefghij"
    a = _proto([letters[:k] for k in range(2, 11)], letters)  # ab, abc, ..., abcdefghij
    b = _proto(["xy", "xyz", "xyzw"], "xyzw")
    n_fixed = S.FIRST_PIECE_ID + 14  # + characters
    proto, stats = merge_sub_tokenizers([a, b], n_fixed + 20)
    assert len(proto.pieces) == n_fixed + 20 and stats.reserved == 20 - 12
    proto, stats = merge_sub_tokenizers([a, b], n_fixed + 8)
    learned = [p.piece for p in proto.pieces if p.type == 1 and len(p.piece) > 1]
    # (rank / group size, group) order: a = 0/9, 1/9, ...; b = 0/3, 1/3, 2/3. The lowest-priority
    # candidates go, and every kept piece's parts stay.
    assert learned == ["ab", "xy", "abc", "abcd", "abcde", "xyz", "abcdef", "abcdefg"]
    assert stats.dropped_over_size == 4 and stats.reserved == 0
    scores = [p.score for p in proto.pieces if p.type == 1]
    assert len(set(scores)) == len(scores), "scores must be distinct: no ties in BPE"


def test_unreachable_piece_is_dropped():
    # "bc" (group 0, rank 0) cuts through "abcd" = "ab"+"cd" (group 1): "abcd" can never form.
    a = _proto(["bc"], "bc")
    b = _proto(["ab", "cd", "abcd"], "abcd")
    order, _ = merge_order([a, b])
    assert order == ["bc", "ab", "cd", "abcd"]
    proto, stats = merge_sub_tokenizers([a, b], S.FIRST_PIECE_ID + 4 + 8)
    assert stats.dropped_unreachable == 1 and stats.reserved == 5
    assert "abcd" not in {p.piece for p in proto.pieces}
    assert unreachable_pieces(proto) == []


def test_merged_tokenizer_reachable_and_deterministic(tmp_path, corpus_dir, merged_tok_dir):
    proto = sp_pb2.ModelProto()
    proto.ParseFromString((merged_tok_dir / "tokenizer.model").read_bytes())
    assert unreachable_pieces(proto) == []
    sp = spm.SentencePieceProcessor(model_file=str(merged_tok_dir / "tokenizer.model"))
    assert sp.get_piece_size() == 1400
    cfg = TokenizerConfig(vocab_size=1400, groups="zh+en+id+ms+pt+tl+th+vi:1000;en+pt:500;zh:500")
    train_tokenizer(cfg, [str(corpus_dir)], tmp_path / "again")
    assert (tmp_path / "again" / "tokenizer.model").read_bytes() == (
        merged_tok_dir / "tokenizer.model"
    ).read_bytes()
    assert (tmp_path / "again" / "tokenizer.json").read_text() == (
        merged_tok_dir / "tokenizer.json"
    ).read_text()
