"""Shared fixtures: a random-init micro model, a byte-level tokenizer with chat tokens, and a
scripted model whose next token is fixed by position (to drive stops and think blocks)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from compass.model.transformer import CompassModel
from compass.recipes import get_recipe

SPECIALS = ["<eos>", "<think>", "</think>", "<|im_start|>", "<|im_end|>"]


class ByteTokenizer:
    """ids 0-255 are bytes, then the special tokens; higher ids decode to one ASCII letter each."""

    def __init__(self):
        self.special = {256 + i: s for i, s in enumerate(SPECIALS)}
        self.eos_id = 256
        self.think_start_id, self.think_end_id = 257, 258

    def encode(self, text: str) -> list[int]:
        out, rest = [], text
        while rest:
            for tid, s in self.special.items():
                if rest.startswith(s):
                    out.append(tid)
                    rest = rest[len(s) :]
                    break
            else:
                ch, rest = rest[0], rest[1:]
                out.extend(ch.encode("utf-8"))
        return out

    def decode(self, ids: list[int]) -> str:
        buf = bytearray()
        for i in ids:
            if i < 256:
                buf.append(i)
            elif i in self.special:
                buf.extend(self.special[i].encode())
            else:
                buf.append(ord("a") + i % 26)
        return buf.decode("utf-8", errors="replace")

    def render_chat(self, messages, enable_thinking=True, add_generation_prompt=True):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        if add_generation_prompt:  # as compass.tokenizer's template: deep mode leaves it open
            text += "<|im_start|>assistant\n<think>\n"
            if not enable_thinking:
                text += "\n</think>\n\n"
        ids = self.encode(text)
        return ids, [0] * len(ids)


class ScriptedModel(nn.Module):
    """Emits ``script`` after a prompt of ``prompt_len`` tokens, whatever the input."""

    def __init__(self, script: list[int], prompt_len: int, vocab: int = 1024):
        super().__init__()
        self.config = SimpleNamespace(
            vocab_size=vocab, max_seq_len=256, n_layers=1, n_kv_heads=1, head_dim=2
        )
        self.embed = nn.Embedding(1, 1)
        self.lm_head = nn.Identity()
        self.script, self.prompt_len = script, prompt_len

    def forward(self, input_ids_BT, positions_BT=None, cache=None, **_):
        idx_BT = (positions_BT + 1 - self.prompt_len).clamp(0, len(self.script) - 1)
        target_BT = torch.tensor(self.script)[idx_BT]
        logits = torch.nn.functional.one_hot(target_BT, self.config.vocab_size).float() * 20
        return SimpleNamespace(logits_BTV=self.lm_head(logits))


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.fixture(scope="session")
def micro_model() -> CompassModel:
    torch.manual_seed(0)
    model = CompassModel(get_recipe("micro").model)
    model.init_weights(0)
    return model.eval()


@pytest.fixture
def byte_tok() -> ByteTokenizer:
    return ByteTokenizer()


@pytest.fixture
def scripted() -> type[ScriptedModel]:
    return ScriptedModel
