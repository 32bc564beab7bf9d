"""Sampling answers from a policy through the engine (reward Best-of-N, on-policy pairs, DPO).

Every request gets its own seed (report: a relatively high temperature and new seeds), so the
``n`` answers to one prompt differ and a rerun draws the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compass.inference.engine import Engine
from compass.inference.params import SamplingParams
from compass.posttrain.formats import prompt_messages


@dataclass
class Sample:
    prompt_ids: list[int]
    token_ids: list[int]  # what the policy generated (ends with <|im_end|> unless cut off)
    text: str  # the answer text (after the think block, if any)
    finish_reason: str

    @property
    def sequence(self) -> list[int]:
        return self.prompt_ids + self.token_ids


def chat_prompt_ids(tok, prompt: str | list[dict[str, Any]], enable_thinking: bool) -> list[int]:
    ids, _ = tok.render_chat(
        prompt_messages(prompt), enable_thinking=enable_thinking, add_generation_prompt=True
    )
    return list(ids)


def _answer_text(tok, ids: list[int]) -> str:
    """The visible answer: text after ``</think>`` when the output has one, specials removed.

    A model's embedding table may be larger than its tokenizer (vocabularies are padded); ids
    past the tokenizer are untrained rows and carry no text."""
    if tok.think_end_id in ids:
        ids = ids[ids.index(tok.think_end_id) + 1 :]
    return tok.decode([i for i in ids if i < tok.vocab_size], skip_special=True).strip()


def sample_n(
    engine: Engine,
    tok,
    prompts: list[str | list[dict[str, Any]]],
    n: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    enable_thinking: bool = False,
    top_p: float = 1.0,
) -> list[list[Sample]]:
    """``n`` answers per prompt, each with its own seed (report: high temperature, new seeds)."""
    ids = [chat_prompt_ids(tok, p, enable_thinking) for p in prompts]
    reqs, params = [], []
    for i, p in enumerate(ids):
        for j in range(n):
            reqs.append(p)
            params.append(
                SamplingParams(
                    temperature=temperature,
                    top_p=top_p,
                    max_tokens=max_tokens,
                    seed=seed * 1_000_003 + i * n + j,
                    enable_thinking=enable_thinking,
                )
            )
    outs = engine.generate(reqs, params)
    samples = [
        Sample(reqs[k], list(o.token_ids), _answer_text(tok, o.token_ids), o.finish_reason)
        for k, o in enumerate(outs)
    ]
    return [samples[i * n : (i + 1) * n] for i in range(len(prompts))]


def greedy(engine: Engine, tok, prompts: list, max_tokens: int, deep: bool) -> list[Sample]:
    """One greedy answer per prompt, in fast or deep mode."""
    return [s[0] for s in sample_n(engine, tok, prompts, 1, 0.0, max_tokens, 0, deep)]
