"""How a policy does on held-out prompts: reward, math accuracy, language, fast and deep modes.

Greedy answers in fast mode to held-out math and general prompts give the mean reward-model
score, the math accuracy (rule-checked) and the share of answers in the question's language
(counted over answers the language identifier is confident about; short answers like "Answer:
$5.50" carry no language). Deep mode (``enable_thinking``) is checked on the math prompts: the
share of answers that close their ``<think>`` block and then answer.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from compass.reward.bon import sample_n
from compass.reward.stage import score_sequences
from compass.reward.verify import check_answer


def language_identifier():
    from compass.data.curation.config import LangIdConfig
    from compass.data.curation.langid import LanguageIdentifier

    return LanguageIdentifier(LangIdConfig(idms_resolver="markers"))


def _greedy(engine, tok, prompts, max_tokens: int, deep: bool):
    return [
        s[0]
        for s in sample_n(engine, tok, prompts, 1, 0.0, max_tokens, seed=0, enable_thinking=deep)
    ]


def evaluate_policy(
    model: nn.Module,
    tok,
    rm: nn.Module,
    math: list[dict[str, Any]],
    general: list[dict[str, Any]],
    max_tokens: int,
    deep_max_tokens: int,
    lid=None,
) -> dict[str, Any]:
    from compass.inference.engine import Engine

    engine = Engine(model, tok, max_batch=64)
    prompts = math + general
    fast = _greedy(engine, tok, [p["prompt"] for p in prompts], max_tokens, deep=False)
    rewards = score_sequences(rm, [s.sequence for s in fast], tok.pad_id)
    correct = [check_answer(s.text, p) for s, p in zip(fast[: len(math)], math)]
    lid = lid or language_identifier()
    langs = [(lid(s.text).lang, p["lang"]) for s, p in zip(fast, prompts) if s.text.strip()]
    judged = [(got, want) for got, want in langs if got != "other"]
    deep = _greedy(engine, tok, [p["prompt"] for p in math], deep_max_tokens, deep=True)
    closed = [tok.think_end_id in s.token_ids and bool(s.text) for s in deep]
    fast_clean = [tok.think_start_id not in s.token_ids for s in fast]
    return {
        "mean_reward": sum(rewards) / max(len(rewards), 1),
        "math_accuracy": sum(correct) / max(len(correct), 1),
        "math_prompts": len(math),
        "language_match": sum(g == w for g, w in judged) / max(len(judged), 1),
        "language_judged": len(judged),
        "empty_answers": sum(not s.text.strip() for s in fast),
        "fast_mode_no_think": sum(fast_clean) / max(len(fast_clean), 1),
        "deep_mode_closes_think": sum(closed) / max(len(closed), 1),
        "deep_math_accuracy": sum(check_answer(s.text, p) for s, p in zip(deep, math))
        / max(len(math), 1),
    }
