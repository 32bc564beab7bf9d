"""How a policy does on held-out prompts: reward, math accuracy, language, fast and deep modes.

Greedy answers in fast mode to the held-out prompts give the mean reward-model score, the math
accuracy on the prompts with a reference answer (rule-checked) and the share of answers in the
prompt's language (``compass.posttrain.language``). Deep mode (``enable_thinking``) is checked on
the math prompts: accuracy, and the share of answers that close their ``<think>`` block and then
answer.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from compass.eval.metrics import mean_stderr
from compass.posttrain.answers import check_answer, has_verifiable_answer
from compass.posttrain.language import language_match
from compass.posttrain.sampling import greedy
from compass.posttrain.scoring import score_sequences


def split_math(prompts: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(prompts with a verifiable answer, the others), each in file order."""
    math = [p for p in prompts if has_verifiable_answer(p)]
    return math, [p for p in prompts if not has_verifiable_answer(p)]


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def evaluate_policy(
    model: nn.Module,
    tok,
    rm: nn.Module,
    prompts: list[dict[str, Any]],
    max_tokens: int,
    deep_max_tokens: int,
) -> dict[str, Any]:
    from compass.inference.engine import Engine

    engine = Engine(model, tok, max_batch=64)
    math, general = split_math(prompts)
    ordered = math + general
    fast = greedy(engine, tok, [p["prompt"] for p in ordered], max_tokens, deep=False)
    rewards = score_sequences(rm, [s.sequence for s in fast], tok.pad_id)
    lang = language_match((s.text, p.get("lang", "")) for s, p in zip(fast, ordered))
    deep = greedy(engine, tok, [p["prompt"] for p in math], deep_max_tokens, deep=True)
    fast_ok = [int(check_answer(s.text, p)) for s, p in zip(fast, math)]
    deep_ok = [int(check_answer(s.text, p)) for s, p in zip(deep, math)]
    return {
        "mean_reward": sum(rewards) / max(len(rewards), 1),
        "math_accuracy": _share(fast_ok),
        "math_prompts": len(math),
        "language_match": lang["all"],
        "language_judged": lang["judged"],
        "empty_answers": sum(not s.text.strip() for s in fast),
        "fast_mode_no_think": _share([tok.think_start_id not in s.token_ids for s in fast]),
        "deep_mode_closes_think": _share(
            [tok.think_end_id in s.token_ids and bool(s.text) for s in deep]
        ),
        "deep_math_accuracy": _share(deep_ok),
        # Per prompt, in held-out order: what the paired before/after changes are taken over.
        "rewards": rewards,
        "math_correct": fast_ok,
        "deep_math_correct": deep_ok,
    }


def paired_change(before: list[float], after: list[float]) -> dict[str, float]:
    """Mean change over the same prompts and its standard error (of the per-prompt differences),
    so a change of a few prompts can be told from noise."""
    d = [a - b for a, b in zip(after, before)]
    mean, se = mean_stderr(d)
    return {"change": round(mean, 4), "se": round(se, 4), "n": len(d)}
