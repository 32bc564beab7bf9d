"""Accuracy aggregates with standard errors (the sample standard deviation over sqrt(n), as
lm-evaluation-harness reports them)."""

from __future__ import annotations

import math


def mean_stderr(values: list[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def mc_scores(lls: list[float], choices: list[str], gold: int) -> tuple[float, float]:
    """(acc, acc_norm): argmax of log-likelihood, and of log-likelihood per character of the
    choice."""
    acc = float(max(range(len(lls)), key=lambda i: lls[i]) == gold)
    norm = [ll / max(len(c), 1) for ll, c in zip(lls, choices)]
    acc_norm = float(max(range(len(norm)), key=lambda i: norm[i]) == gold)
    return acc, acc_norm
