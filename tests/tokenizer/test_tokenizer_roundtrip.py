"""Round trips are exact, nothing is ever unknown, digits are split, special ids are fixed."""

from __future__ import annotations

import pytest

from compass.tokenizer import load_tokenizer
from compass.tokenizer import specials as S


@pytest.fixture(scope="module", params=["single", "merged"])
def tok(request, tiny_tok_dir, merged_tok_dir):
    return load_tokenizer(tiny_tok_dir if request.param == "single" else merged_tok_dir)


def test_round_trip_adversarial_and_corpus(tok, test_lines):
    for text in test_lines:
        ids = tok.encode(text)
        assert tok.decode(ids) == text, repr(text)
        assert tok.unk_id not in ids, repr(text)


def test_batch_encoding_equals_single(tok, test_lines):
    lines = test_lines[:500]
    assert tok.encode_batch(lines, num_threads=2) == [tok.encode(t) for t in lines]
    bos_eos = tok.encode_batch(lines[:3], add_bos=True, add_eos=True)
    assert bos_eos == [tok.encode(t, add_bos=True, add_eos=True) for t in lines[:3]]
    assert all(ids[0] == tok.bos_id and ids[-1] == tok.eos_id for ids in bos_eos)


def test_unseen_script_falls_back_to_bytes(tok):
    text = "Ω ᚠ 𓀀 ♞ ꦲꦏ꧀ꦱꦫ"  # scripts absent from the training text
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    byte_ids = [i for i in ids if S.BYTE_OFFSET <= i < S.FIRST_PIECE_ID]
    assert byte_ids, "unseen characters must be spelled in byte pieces"


def test_digits_are_split(tok):
    ids = tok.encode("1234567890")
    assert [tok.id_to_piece(i) for i in ids] == list("1234567890")


def test_special_ids_fixed_and_matched_in_text(tok):
    for name, i in S.SPECIAL_IDS.items():
        assert tok.id_to_piece(i) == name
    assert tok.bos_id == 1 and tok.eos_id == 2 and tok.pad_id == 3
    assert tok.encode("<think>") == [tok.think_start_id]
    assert tok.encode("a</think>b")[1] == tok.think_end_id
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>")
    assert ids[0] == tok.im_start_id and ids[-1] == tok.im_end_id
    assert tok.decode(ids, skip_special=True) == "user\nhi"


def test_whitespace_preserved_exactly(tok):
    for text in [" x", "x ", "  x  y   ", "\n\n\nx\t\t", "\u3000x\u00a0"]:
        assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize(("n_chars", "vocab"), [(1500, 600), (600, 1024)])
def test_small_vocab_over_many_characters_falls_back_to_bytes(tmp_path, n_chars, vocab):
    """More distinct characters than a small vocab can hold (1500 > 600: SentencePiece refuses;
    600 fit 1024 but leave no room for merges): the rare ones are spelled in bytes."""
    import json
    import random

    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    rng = random.Random(0)
    chars = [chr(0x4E00 + i) for i in range(n_chars)]
    weights = [1.0 / (i + 1) for i in range(n_chars)]  # Zipf-like, as in real text
    docs = ["".join(rng.choices(chars, weights, k=60)) for _ in range(800)]
    (tmp_path / "d").mkdir()
    with open(tmp_path / "d" / "zh.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": d, "lang": "zh"}, ensure_ascii=False) + "\n" for d in docs)
    metrics = train_tokenizer(
        TokenizerConfig(vocab_size=vocab), [str(tmp_path / "d")], tmp_path / "t"
    )
    tok = load_tokenizer(tmp_path / "t")
    assert tok.vocab_size == vocab
    assert metrics["merge"]["chars"] <= (vocab - S.FIRST_PIECE_ID) // 2 + 1
    text = "".join(chars[::7])
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert any(S.BYTE_OFFSET <= i < S.FIRST_PIECE_ID for i in ids)


def test_load_from_run_dir_and_errors(tmp_path, tiny_tok_dir):
    import shutil

    from compass.config import ConfigError

    shutil.copytree(tiny_tok_dir, tmp_path / "run" / "tokenizer")
    tok = load_tokenizer(tmp_path / "run")
    assert tok.hf_dir == tmp_path / "run" / "tokenizer" and len(tok) == tok.vocab_size
    with pytest.raises(ConfigError, match="no tokenizer model"):
        load_tokenizer(tmp_path / "nothing")
