"""The reward stage's data, from the user's files: preference pairs (train and held-out), the
verified solutions of the verifier warm-up, and the verifiable prompts of Best-of-N and of the
on-policy pairs. Every row is accounted for in ``skipped``; held-out and Best-of-N prompts never
reach training."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from compass.posttrain.answers import has_verifiable_answer
from compass.posttrain.formats import prompt_key, prompt_text, read_pairs, read_prompts
from compass.posttrain.inputs import InputError
from compass.posttrain.reward.config import RewardConfig
from compass.posttrain.splits import split_by_prompt, without_prompts

log = logging.getLogger(__name__)


@dataclass
class RewardInputs:
    train: list[dict[str, Any]]
    heldout: list[dict[str, Any]]
    bon: list[dict[str, Any]]  # verifiable prompts for Best-of-N (may be empty)
    policy: list[dict[str, Any]]  # verifiable prompts for on-policy pairs (may be empty)
    skipped: Counter = field(default_factory=Counter)

    def held_prompts(self) -> set[str]:
        """Prompt texts no training data may ask (held-out pairs, Best-of-N prompts)."""
        return {prompt_text(r["prompt"]) for r in self.heldout + self.bon}


def _verifiable(paths: list[str], skipped: Counter, what: str) -> list[dict[str, Any]]:
    rows = read_prompts(paths, skipped)[0] if paths else []
    kept = [r for r in rows if has_verifiable_answer(r)]
    if len(kept) < len(rows):
        skipped[f"{what}: prompt without an answer"] += len(rows) - len(kept)
    if rows and not kept:
        raise InputError(f"{paths}: no prompt with an 'answer' for {what}")
    return kept


def load_inputs(cfg: RewardConfig) -> RewardInputs:
    """Pairs, split by prompt, and the prompt sets; a stage with no pair file stops here."""
    if not cfg.inputs:
        raise InputError(
            "reward: no preference files — pass --input FILE (TRL rows: prompt, chosen, "
            "rejected; or chosen/rejected conversations)"
        )
    skipped: Counter = Counter()
    pairs, _ = read_pairs(cfg.inputs, skipped)
    given = read_pairs(cfg.heldout, skipped)[0] if cfg.heldout else None
    bon = _verifiable(cfg.bon_prompts, skipped, "Best-of-N")
    bon_keys = {prompt_key(r["prompt"]) for r in bon}
    pairs = without_prompts(pairs, bon_keys, skipped, "prompt is a Best-of-N prompt")
    train, heldout = split_by_prompt(pairs, given, cfg.heldout_frac, cfg.seed, skipped)
    if not train:
        raise InputError(f"reward: every pair of {cfg.inputs} is held out; add training pairs")
    policy = _verifiable(cfg.policy_prompts, skipped, "on-policy pairs")
    taken = bon_keys | {prompt_key(r["prompt"]) for r in train + heldout}
    policy = without_prompts(policy, taken, skipped, "on-policy prompt already used")
    if not bon:
        log.warning("reward: no Best-of-N prompts (reward.bon_prompts): Best-of-N is skipped")
    return RewardInputs(train, heldout, bon, policy, skipped)


def accuracy_by_kind(wins: list[bool], heldout, kept: list[int]) -> dict[str, float]:
    """Held-out accuracy per pair ``kind`` (``kept``: the indices of the pairs tokenised)."""
    per: dict[str, list[bool]] = {}
    for win, k in zip(wins, kept):
        per.setdefault(heldout[k].get("kind") or "file", []).append(win)
    return {kind: sum(w) / len(w) for kind, w in per.items()}
