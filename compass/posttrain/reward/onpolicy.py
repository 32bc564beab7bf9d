"""On-policy math pairs: the policy's own right and wrong answers to the same verifiable prompt.

Best-of-N asks the reward model to rank the policy's samples, so it should be trained on them: for
each of the ``reward.policy_prompts`` (disjoint from the Best-of-N prompts) the policy answers ``k``
times, the rule checker labels each answer, and distinct right and wrong answers of one prompt are
paired (the way reward models for verifiable tasks are trained). The synthetic slips of
``compass.data.synth.tasks.cot`` guess at a small policy's errors; the tiny policy's wrong chains
are in fact mostly a wrong sum or difference in the second or third step, which its samples show
directly.

A pair keeps the sampled token ids (``TokPair``: prompt + answer, exactly what Best-of-N scores)
and, for the record, its text (chosen/rejected answer and reasoning) with ``kind`` =
``policy_math``. Samples cut off at ``max_tokens`` never enter a pair. A prompt with no right or no
wrong answer yields none, counted in ``skipped`` under its reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from compass.posttrain.answers import check_answer, has_verifiable_answer
from compass.posttrain.reward.stage import TokPair
from compass.posttrain.sampling import Sample, sample_n

Pair = dict[str, Any]

KIND = "policy_math"


def _reasoning(tok, s: Sample) -> str:
    ids = s.token_ids
    end = ids.index(tok.think_end_id) if tok.think_end_id in ids else len(ids)
    return tok.decode([i for i in ids[:end] if i < tok.vocab_size], skip_special=True).strip()


def _distinct(samples: list[Sample]) -> list[Sample]:
    """The distinct answers (by token ids), the most frequent first, ties by first appearance:
    the wrong answers the policy gives most are the ones Best-of-N has to rank below a right one."""
    counts = Counter(tuple(s.token_ids) for s in samples)
    first: dict[tuple[int, ...], Sample] = {}
    for s in samples:
        first.setdefault(tuple(s.token_ids), s)
    return sorted(first.values(), key=lambda s: -counts[tuple(s.token_ids)])


def pair_samples(
    tok, item: dict[str, Any], samples: list[Sample], per_prompt: int, skipped: Counter
) -> list[tuple[Pair, TokPair]]:
    """Up to ``per_prompt`` (right, wrong) pairs of one prompt's samples, cycling through the
    distinct right and wrong answers so each pair differs from the others."""
    if not has_verifiable_answer(item):
        skipped["math prompt without a verifiable answer"] += 1
        return []
    done = [s for s in samples if s.finish_reason == "stop" and s.text.strip()]
    if len(done) < len(samples):
        skipped["policy sample cut off or empty"] += len(samples) - len(done)
    ok = [check_answer(s.text, item) for s in done]
    right = _distinct([s for s, good in zip(done, ok) if good])
    wrong = _distinct([s for s, good in zip(done, ok) if not good])
    if not right or not wrong:
        skipped["policy math: no correct answer" if not right else "policy math: all correct"] += 1
        return []
    out = []
    for j in range(min(per_prompt, max(len(right), len(wrong)))):
        c, r = right[j % len(right)], wrong[j % len(wrong)]
        pair = {
            "prompt": item["prompt"],
            "chosen": c.text,
            "rejected": r.text,
            "chosen_reasoning": _reasoning(tok, c),
            "rejected_reasoning": _reasoning(tok, r),
            "lang": item.get("lang", ""),
            "kind": KIND,
        }
        out.append((pair, (c.sequence, r.sequence)))
    return out


def policy_pairs(
    engine,
    tok,
    items: list[dict[str, Any]],
    k: int,
    per_prompt: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    thinking: bool,
    skipped: Counter,
) -> tuple[list[Pair], list[TokPair]]:
    """Sample ``k`` answers per item from the engine's policy and pair right against wrong."""
    if not items:
        return [], []
    prompts = [it["prompt"] for it in items]
    samples = sample_n(engine, tok, prompts, k, temperature, max_tokens, seed, thinking)
    pairs: list[Pair] = []
    toks: list[TokPair] = []
    for it, ss in zip(items, samples):
        for pair, tp in pair_samples(tok, it, ss, per_prompt, skipped):
            pairs.append(pair)
            toks.append(tp)
    return pairs, toks
