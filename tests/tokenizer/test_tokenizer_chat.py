"""The Jinja chat template in tokenizer_config.json and the Python renderer agree, both modes."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from compass.config import ConfigError
from compass.tokenizer import load_tokenizer
from compass.tokenizer.chat_template import render_text

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_products",
            "description": "Cari produk / ค้นหาสินค้า",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]
CONVERSATIONS = [
    [{"role": "user", "content": "Xin chào! Áo này giá bao nhiêu?"}],
    [
        {"role": "system", "content": "You are a shop assistant."},
        {"role": "user", "content": "ส่งฟรีไหม"},
        {"role": "assistant", "content": "ส่งฟรีครับ", "reasoning_content": "Check policy: free."},
        {"role": "user", "content": "2 + 3 = ?"},
        {"role": "assistant", "content": "5", "reasoning_content": "2 + 3 = 5."},
    ],
    [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Find running shoes size 42"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "type": "function",
                    "function": {"name": "search_products", "arguments": {"q": "sepatu 42"}},
                },
                {
                    "type": "function",
                    "function": {"name": "search_products", "arguments": '{"q": "tênis"}'},
                },
            ],
        },
        {"role": "tool", "content": '[{"id": 7, "name": "Runner X", "price": "Rp450.000"}]'},
        {"role": "assistant", "content": "Runner X costs Rp450.000."},
    ],
]


@pytest.fixture(scope="module")
def toks(merged_tok_dir):
    return load_tokenizer(merged_tok_dir), AutoTokenizer.from_pretrained(str(merged_tok_dir))


@pytest.mark.parametrize("thinking", [False, True])
@pytest.mark.parametrize("gen", [False, True])
@pytest.mark.parametrize("conv", range(len(CONVERSATIONS)))
def test_jinja_equals_python(toks, thinking, gen, conv):
    ours, hf = toks
    msgs = CONVERSATIONS[conv]
    tools = TOOLS if conv == 2 else None
    kw = {"enable_thinking": thinking, "add_generation_prompt": gen}
    text = hf.apply_chat_template(msgs, tools=tools, tokenize=False, **kw)
    assert text == render_text(msgs, tools=tools, **kw)
    hf_ids = hf.apply_chat_template(msgs, tools=tools, tokenize=True, **kw)
    hf_ids = hf_ids["input_ids"] if hasattr(hf_ids, "keys") else hf_ids
    ids, mask = ours.render_chat(msgs, tools=tools, **kw)
    assert ids == hf_ids
    assert len(mask) == len(ids)


def test_modes_and_generation_prompt():
    msgs = CONVERSATIONS[1]
    deep = render_text(msgs, enable_thinking=True, add_generation_prompt=True)
    fast = render_text(msgs, enable_thinking=False, add_generation_prompt=True)
    assert "<think>\nCheck policy: free.\n</think>\n\nส่งฟรีครับ<|im_end|>" in deep
    assert deep.endswith("<|im_start|>assistant\n<think>\n")
    assert "Check policy" not in fast and "<think>\n\n</think>\n\nส่งฟรีครับ" in fast
    assert fast.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


@pytest.mark.parametrize("thinking", [False, True])
def test_loss_mask_covers_assistant_turns_only(toks, thinking):
    ours, _ = toks
    msgs = CONVERSATIONS[1]
    ids, mask = ours.render_chat(msgs, enable_thinking=thinking)
    # Oracle: the trained spans are exactly each assistant body up to and including <|im_end|>.
    trained = [i for i, m in zip(ids, mask) if m]
    expected = []
    for m in msgs:
        if m["role"] == "assistant":
            think = m["reasoning_content"] + "\n" if thinking else "\n"
            body = f"<think>\n{think}</think>\n\n{m['content']}<|im_end|>"
            expected += ours.encode(body)
    assert trained == expected
    first_asst = ids.index(ours.think_start_id)
    assert not any(mask[:first_asst])


def test_bad_messages_are_named(toks):
    ours, _ = toks
    with pytest.raises(ConfigError, match="unknown role"):
        ours.render_chat([{"role": "robot", "content": "x"}])
    with pytest.raises(ConfigError, match="must be a string"):
        ours.render_chat([{"role": "user", "content": [{"type": "text", "text": "x"}]}])
