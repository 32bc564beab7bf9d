"""Sampling n answers per prompt from a policy, and Best-of-N accuracy (report §4.1).

Best-of-N: for each verifiable math prompt, draw N answers, keep the one the reward model scores
highest and check it. From ``n_max`` samples per prompt, the accuracy at N averages over the
``n_max / N`` disjoint groups of N samples, so every N uses all samples and N=1 is the policy's
plain sampling accuracy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from compass.inference.engine import Engine
from compass.inference.params import SamplingParams
from compass.reward.pairs import prompt_messages

log = logging.getLogger(__name__)


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
                    temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                    seed=seed * 1_000_003 + i * n + j, enable_thinking=enable_thinking,
                )
            )  # fmt: skip
    outs = engine.generate(reqs, params)
    samples = [
        Sample(reqs[k], list(o.token_ids), _answer_text(tok, o.token_ids), o.finish_reason)
        for k, o in enumerate(outs)
    ]
    return [samples[i * n : (i + 1) * n] for i in range(len(prompts))]


def best_of_n(
    correct: list[list[bool]], scores: list[list[float]], sizes: list[int]
) -> dict[int, float]:
    """Accuracy of the highest-scored answer among N, for each N in ``sizes``."""
    out = {}
    for N in sizes:
        hits, groups = 0, 0
        for ok, sc in zip(correct, scores):
            for g in range(0, len(ok) - N + 1, N):
                best = max(range(g, g + N), key=lambda k: sc[k])
                hits += ok[best]
                groups += 1
        out[N] = hits / max(groups, 1)
    return out


def pass_at_n(correct: list[list[bool]], sizes: list[int]) -> dict[int, float]:
    """The ceiling: the share of N-groups holding at least one correct answer."""
    oracle = [[float(c) for c in ok] for ok in correct]
    return best_of_n(correct, oracle, sizes)
