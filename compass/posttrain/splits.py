"""Held-out splits by prompt: no prompt is on both sides, so a held-out figure is never a memory.

With held-out files the user's split is kept and training rows that ask a held-out prompt are
dropped (counted). Without them, a seeded share of the distinct prompts is held out.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from typing import Any

from compass.posttrain.formats import prompt_key

log = logging.getLogger(__name__)

Row = dict[str, Any]


def split_by_prompt(
    rows: list[Row], heldout: list[Row] | None, frac: float, seed: int, skipped: Counter
) -> tuple[list[Row], list[Row]]:
    """(train, held-out) rows; ``heldout`` given: train rows asking one of its prompts are
    dropped and counted in ``skipped``; else ``frac`` of the distinct prompts, seeded."""
    if heldout:
        held = {prompt_key(r["prompt"]) for r in heldout}
        train = [r for r in rows if prompt_key(r["prompt"]) not in held]
        if len(train) < len(rows):
            skipped["prompt also in the held-out set"] += len(rows) - len(train)
        return train, heldout
    keys = sorted({prompt_key(r["prompt"]) for r in rows})
    random.Random(f"heldout:{seed}").shuffle(keys)
    held = set(keys[: round(frac * len(keys))])
    log.info("held out %d of %d prompts (a seeded %.0f%% split)", len(held), len(keys), 100 * frac)
    return (
        [r for r in rows if prompt_key(r["prompt"]) not in held],
        [r for r in rows if prompt_key(r["prompt"]) in held],
    )


def without_prompts(rows: list[Row], prompts: set[str], skipped: Counter, why: str) -> list[Row]:
    """``rows`` minus those asking one of ``prompts`` (keys), counted under ``why``."""
    kept = [r for r in rows if prompt_key(r["prompt"]) not in prompts]
    if len(kept) < len(rows):
        skipped[why] += len(rows) - len(kept)
    return kept
