"""The HF files load offline and give the same ids as SentencePiece on >= 5,000 lines."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from compass.tokenizer import load_tokenizer


@pytest.mark.parametrize("which", ["single", "merged"])
def test_hf_ids_identical_to_sentencepiece(which, tiny_tok_dir, merged_tok_dir, test_lines):
    d = tiny_tok_dir if which == "single" else merged_tok_dir
    assert len(test_lines) >= 5000
    ours = load_tokenizer(d)
    hf = AutoTokenizer.from_pretrained(str(d))
    assert len(hf) == ours.vocab_size
    hf_ids = hf(test_lines, add_special_tokens=False)["input_ids"]
    mismatched = [t for t, a, b in zip(test_lines, ours.encode_batch(test_lines), hf_ids) if a != b]
    assert not mismatched, f"{len(mismatched)} lines differ, e.g. {mismatched[:3]!r}"
    for text, ids in zip(test_lines[::50], hf_ids[::50]):
        assert hf.decode(ids) == text


def test_hf_special_tokens(merged_tok_dir):
    ours = load_tokenizer(merged_tok_dir)
    hf = AutoTokenizer.from_pretrained(str(merged_tok_dir))
    assert hf.bos_token_id == ours.bos_id
    assert hf.eos_token_id == ours.eos_id
    assert hf.pad_token_id == ours.pad_id
    assert hf.convert_tokens_to_ids("<think>") == ours.think_start_id
    ids = hf.encode("<|im_start|>hi<|im_end|>", add_special_tokens=False)
    assert hf.decode(ids, skip_special_tokens=True) == "hi"
