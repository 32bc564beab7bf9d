"""The reference solution as the chosen answer of a math prompt the policy never got right.

The report's rule drops a math prompt with no correct sample, so the problems the policy fails
most teach it nothing. With ``dpo.math_reference`` such a prompt instead pairs the prompt's own
reference reply (chosen: its ``reference`` field, else its ``answer``; in deep mode its
``solution`` steps inside the think block, rendered by the chat template exactly as SFT taught
them) against the policy's highest-reward wrong answer: the
gold-chosen pairs of SPIN (Chen et al. 2024, "Self-Play Fine-Tuning Converts Weak Language
Models to Strong Language Models"), kept to prompts whose answer is verifiable.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from compass.posttrain.dpo.select import Candidate
from compass.posttrain.reward.stage import encode_response
from compass.posttrain.sampling import Sample, chat_prompt_ids
from compass.posttrain.scoring import score_sequences


def reference_answer(prompt: dict[str, Any]) -> str | None:
    """The prompt's right reply: its ``reference`` ("Answer: $47.00"), else its bare ``answer``."""
    text = str(prompt.get("reference") or prompt.get("answer") or "").strip()
    return text or None


def reference_candidate(tok, prompt: dict[str, Any], rm: nn.Module) -> Candidate | None:
    """The reference solution as a sample in the prompt's mode, scored by ``rm``; None when the
    prompt has no answer, or (deep mode) no solution steps, or its rendering does not start with
    the prompt the policy was sampled from."""
    text = reference_answer(prompt)
    deep = bool(prompt.get("thinking"))
    solution = prompt.get("solution") if deep else None
    if text is None or (deep and not solution):
        return None
    prompt_ids = chat_prompt_ids(tok, prompt["prompt"], deep)
    full = encode_response(tok, prompt["prompt"], text, solution)
    if full[: len(prompt_ids)] != prompt_ids:
        return None
    (reward,) = score_sequences(rm, [full], tok.pad_id)
    return Candidate(Sample(prompt_ids, full[len(prompt_ids) :], text, "stop"), reward)
