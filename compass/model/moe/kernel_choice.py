"""``expert_impl="measure"``: bmm or grouped_mm, whichever this CPU runs faster at a shape.

Which kernel is faster depends on the CPU (its GEMM blocking and vector width) and on how loaded
it is, not only on the shapes. The first call at a shape times both kernels on a balanced
synthetic load (forward, plus backward when gradients are on) and keeps the times for the rest
of the process; each call then weighs them against its own load, since the padded bmm does
``E · C / A`` times the balanced work (``RoutedExperts._choose``). The timing runs on a helper
thread: autograd's saved-tensor hooks and dispatch modes (activation checkpointing) are
per-thread, so a recomputed forward never sees the trial's tensors.

The kernels can round differently (their GEMMs sum over different row counts), so a measured
choice makes a run's floats depend on the timing; that is why ``auto`` is a fixed rule.

Legend: A assignments (tokens × k), E experts, C the busiest expert's load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

_TIMES: dict[tuple, dict[str, float]] = {}
ROUNDS = 3  # interleaved timing rounds per kernel; the best of each counts


def bucket(n_assign: int) -> int:
    """Assignments rounded up to a power of two: SFT's varying batch lengths share a few keys."""
    return 1 << max(n_assign - 1, 0).bit_length()


def measured_times(
    key: tuple, make_trials: Callable[[], dict[str, Callable[[], None]]]
) -> dict[str, float]:
    """Best seconds of each of ``make_trials()`` (name → one run), timed once per ``key``."""
    if key not in _TIMES:
        threads = torch.get_num_threads()

        def measure() -> dict[str, float]:
            torch.set_num_threads(threads)  # the helper thread times what the caller would run
            return _time(make_trials())

        with ThreadPoolExecutor(1) as pool:
            _TIMES[key] = pool.submit(measure).result()
    return _TIMES[key]


def _time(trials: dict[str, Callable[[], None]]) -> dict[str, float]:
    for run in trials.values():
        run()  # warm-up: first-call dispatch and allocator growth are not the kernel's cost
    best = dict.fromkeys(trials, float("inf"))
    for _ in range(ROUNDS):  # interleaved, so a load spike from other processes hits both
        for name, run in trials.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def measured() -> dict[tuple, dict[str, float]]:
    """Every timing so far: (E, D, I, tokens bucket, k, dtype, grad, threads) → kernel → s."""
    return dict(_TIMES)


def clear() -> None:
    """Forget every timing (tests)."""
    _TIMES.clear()


def synthetic_load(
    n_tokens: int, k: int, n_experts: int, d_model: int, grad: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, weights and a perfectly balanced routing for a timing trial (own generator, so
    the caller's random stream is untouched)."""
    gen = torch.Generator().manual_seed(0)
    x_ND = torch.randn(n_tokens, d_model, generator=gen).requires_grad_(grad)
    experts_Nk = (torch.arange(n_tokens * k) % n_experts).view(n_tokens, k)
    weights_Nk = torch.rand(n_tokens, k, generator=gen)
    return x_ND, weights_Nk, experts_Nk
