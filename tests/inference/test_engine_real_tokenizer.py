"""The engine with the real Compass tokenizer (trained here in ~2 s): text in/out, EOS ids,
the chat template's think block, and the streamed text equal to one full decode."""

from __future__ import annotations

import json
import random

import pytest

from compass.inference import Engine, SamplingParams

WORDS = [
    "Free",
    "shipping",
    "on",
    "all",
    "orders",
    "over",
    "this",
    "weekend",
    "Barang",
    "sudah",
    "sampai",
    "dengan",
    "selamat",
    "terima",
    "kasih",
    "Sản",
    "phẩm",
    "chất",
    "lượng",
    "tốt",
    "giao",
    "hàng",
    "nhanh",
    "สินค้าคุณภาพดีมาก",
    "这款手机壳质量很好",
]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    d = tmp_path_factory.mktemp("engine_tok")
    rng = random.Random(0)
    syl = ["ka", "to", "ri", "ma", "ng", "an", "op", "ba", "hà", "ơn", "ซื้อ", "ขาย", "手机"]
    (d / "corpus").mkdir()
    with open(d / "corpus" / "docs.jsonl", "w", encoding="utf-8") as f:
        for _ in range(3000):
            extra = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(8)]
            text = " ".join(rng.choice(WORDS) for _ in range(20)) + " " + " ".join(extra)
            f.write(json.dumps({"text": text, "lang": "en"}, ensure_ascii=False) + "\n")
    train_tokenizer(TokenizerConfig(vocab_size=1024), [str(d / "corpus")], d / "tok")
    return d / "tok"


def test_text_generation_and_chat_with_the_compass_tokenizer(micro_model, tok_dir):
    e = Engine(micro_model, tokenizer=str(tok_dir), max_batch=2)
    tok = e.tokenizer
    assert {tok.eos_id, tok.im_end_id} <= e.eos_ids
    params = SamplingParams(temperature=0.8, seed=5, max_tokens=24, ignore_eos=True)
    deltas = [o.text for o in e.stream("Free shipping", params)]
    out = e.generate(["Free shipping"], params)[0]
    assert "".join(deltas) == out.text == tok.decode(out.token_ids, skip_special=True)
    messages = [{"role": "user", "content": "Barang sudah sampai?"}]
    deep = e.chat(messages, SamplingParams(temperature=0, max_tokens=12, enable_thinking=True))
    # The template opened <think>: an unclosed block is all reasoning.
    assert deep.reasoning_content is not None and deep.content == ""
    fast = e.chat(messages, SamplingParams(temperature=0, max_tokens=12))
    assert fast.reasoning_content is None and isinstance(fast.content, str)
