"""Choosing the chosen and rejected answer among a prompt's n samples (report §4.2).

A prompt with a reference ``answer`` (math): the rule-based check splits the samples into correct
(G_T) and incorrect (G_F); a prompt with no correct answer is dropped; chosen = the highest-reward
answer in G_T, rejected = the highest-reward answer in G_F. Other prompts: ranked by reward;
chosen = the highest, rejected = the lowest (``max_min``) or the median (``max_median``), if
their gap reaches ``min_margin``. With ``require_language`` an answer not in the prompt's language
is never chosen. Empty answers never enter a pair. Every prompt that yields no pair says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.posttrain.answers import check_answer, has_verifiable_answer
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.sampling import Sample


@dataclass
class Candidate:
    sample: Sample
    reward: float
    on_language: bool = True
    correct: bool | None = None  # math only


def _best(cands: list[Candidate]) -> Candidate:
    return max(cands, key=lambda c: c.reward)


def _math_pair(prompt: dict, cands: list[Candidate]) -> tuple[Candidate, Candidate] | str:
    for c in cands:
        if c.correct is None:  # not checked yet (make_pairs may have, for math_reference)
            c.correct = check_answer(c.sample.text, prompt)
    right = [c for c in cands if c.correct]
    wrong = [c for c in cands if not c.correct]
    if not right:
        return "no correct answer"
    if not wrong:
        return "no incorrect answer"
    return _best(right), _best(wrong)


def _general_pair(cands: list[Candidate], cfg: DPOConfig) -> tuple[Candidate, Candidate] | str:
    ranked = sorted(cands, key=lambda c: c.reward)
    eligible = [c for c in ranked if c.on_language] if cfg.require_language else ranked
    if not eligible:
        return "no answer in the prompt's language"
    chosen = eligible[-1]
    rest = [c for c in ranked if c is not chosen]
    if not rest:
        return "fewer than two answers"
    rejected = rest[0] if cfg.general_rule == "max_min" else rest[(len(rest) - 1) // 2]
    if chosen.reward - rejected.reward < cfg.min_margin and rejected.on_language:
        return "reward margin below min_margin"
    return chosen, rejected


def select_pair(
    prompt: dict, cands: list[Candidate], cfg: DPOConfig
) -> tuple[Candidate, Candidate] | str:
    """(chosen, rejected) for one prompt, or the reason it yields no pair."""
    usable = [c for c in cands if c.sample.text.strip()]
    if len(usable) < 2:
        return "fewer than two non-empty answers"
    if has_verifiable_answer(prompt):
        picked = _math_pair(prompt, usable)
    else:
        picked = _general_pair(usable, cfg)
    if isinstance(picked, str):
        return picked
    if picked[0].sample.token_ids == picked[1].sample.token_ids:
        return "chosen equals rejected"
    return picked
