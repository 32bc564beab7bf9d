"""Best-of-N accuracy (report §4.1); the samples come from ``compass.posttrain.sampling``.

Best-of-N: for each verifiable math prompt, draw N answers, keep the one the reward model scores
highest and check it. From ``n_max`` samples per prompt, the accuracy at N averages over the
``n_max / N`` disjoint groups of N samples, so every N uses all samples and N=1 is the policy's
plain sampling accuracy.
"""

from __future__ import annotations


def best_of_n(
    correct: list[list[bool]], scores: list[list[float]], sizes: list[int]
) -> dict[int, float]:
    """Accuracy of the highest-scored answer among N, for each N in ``sizes``."""
    out = {}
    for N in sizes:
        hits, groups = 0, 0
        for ok, sc in zip(correct, scores):
            for g in range(0, len(ok) - N + 1, N):
                best = max(range(g, g + N), key=lambda k: sc[k])
                hits += ok[best]
                groups += 1
        out[N] = hits / max(groups, 1)
    return out


def pass_at_n(correct: list[list[bool]], sizes: list[int]) -> dict[int, float]:
    """The ceiling: the share of N-groups holding at least one correct answer."""
    oracle = [[float(c) for c in ok] for ok in correct]
    return best_of_n(correct, oracle, sizes)
