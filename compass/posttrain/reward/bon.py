"""Best-of-N accuracy (report §4.1); the samples come from ``compass.posttrain.sampling``.

Best-of-N: for each verifiable math prompt, draw N answers, keep the one the reward model scores
highest and check it. From ``n`` samples per prompt, the accuracy at N is the expectation over
every N-subset of them (the unbiased estimator, as pass@k's): the answer ranked ``j``-th by score
(0 = best) is the subset's pick in ``C(n-1-j, N-1)`` of the ``C(n, N)`` subsets. Averaging over
all subsets rather than over ``n / N`` disjoint groups uses each sample in every N and keeps the
curve from jumping by whole prompts at the largest N (one group per prompt). Tied scores share
their picks evenly. N=1 is the policy's plain sampling accuracy.
"""

from __future__ import annotations

from math import comb


def _expected_pick(ok: list[bool], sc: list[float], N: int) -> float:
    n = len(ok)
    order = sorted(range(n), key=lambda k: -sc[k])
    total, j = 0.0, 0
    while j < n:  # a run of tied scores: the subset's pick among them is uniform
        t = j
        while t + 1 < n and sc[order[t + 1]] == sc[order[j]]:
            t += 1
        weight = sum(comb(n - 1 - r, N - 1) for r in range(j, t + 1))
        total += weight * sum(ok[order[r]] for r in range(j, t + 1)) / (t - j + 1)
        j = t + 1
    return total / comb(n, N)


def best_of_n(
    correct: list[list[bool]], scores: list[list[float]], sizes: list[int]
) -> dict[int, float]:
    """Expected accuracy of the highest-scored answer among N, for each N in ``sizes``."""
    out = {}
    for N in sizes:
        picks = [_expected_pick(ok, sc, N) for ok, sc in zip(correct, scores) if len(ok) >= N]
        out[N] = sum(picks) / max(len(picks), 1)
    return out


def pass_at_n(correct: list[list[bool]], sizes: list[int]) -> dict[int, float]:
    """The ceiling: the chance that an N-subset holds at least one correct answer."""
    oracle = [[float(c) for c in ok] for ok in correct]
    return best_of_n(correct, oracle, sizes)
