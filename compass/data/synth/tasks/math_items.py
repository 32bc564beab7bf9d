"""Verifiable math prompts for Best-of-N and online DPO, from one of two generators.

- ``cart``: the multi-step shopping-cart problems of ``compass.data.synth.tasks.cart`` (whole
  amounts, at most three one-digit operations): what a tiny policy is taught to solve, so that
  sampling it N times finds a right answer often enough (pass@N > 0) for Best-of-N and math pairs
  to mean anything;
- ``numerical_reasoning``: the World's word problems (discounts, instalments, free shipping
  thresholds) of ``compass.data.synth.evalgen``, for models large enough to solve them.

An item is ``{"prompt", "lang", "answer", "answer_minor", "currency", ...}``, checked by
``compass.posttrain.reward.verify.check_answer``.
"""

from __future__ import annotations

from typing import Any

from compass.data.synth.evalgen import eval_items
from compass.data.synth.tasks.cart import cart_problems, eval_item
from compass.data.synth.world import World

MATH_TASKS = ("cart", "numerical_reasoning")


def math_items(
    world: World, task: str, lang: str, n: int, seed: int, exclude: set[str], stream: str
) -> list[dict[str, Any]]:
    """``n`` items in ``lang`` from the stream ``stream``, none of whose prompts is in
    ``exclude``."""
    if task == "cart":
        return [
            eval_item(p, i) for i, p in enumerate(cart_problems(lang, n, seed, stream, exclude))
        ]
    if task == "numerical_reasoning":
        return eval_items(world, task, lang, n, seed, exclude, stream=stream)
    raise ValueError(f"unknown math task {task!r}: choose from {', '.join(MATH_TASKS)}")
