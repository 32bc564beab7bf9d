"""Interleaved step timing of training variants: the loop ``bench/sft_step.py`` and
``bench/reward_step.py`` share. Each variant runs one warm-up step, then ``rounds`` rounds of
``steps`` steps in turn, so a load change on a shared machine hits every variant alike.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from machine import describe

from compass.train.loop import Trainer

Step = Callable[[str, Trainer], float]  # (variant, trainer) -> that step's loss


def plain_step(name: str, tr: Trainer) -> float:
    return tr.train_step()["loss"]


def race(
    doc: str,
    build: Callable[[argparse.Namespace, Path], dict[str, Trainer]],
    step: Step = plain_step,
    options: dict[str, dict] | None = None,
) -> None:
    """Parse ``--run --rounds --steps`` (and ``options``: flag -> ``add_argument`` keywords),
    time every variant ``build(args, tmp)`` returns and print ms/step, the first losses and each
    variant's ratio to ``stage`` (the code as it is)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for flag, kw in (options or {}).items():
        ap.add_argument(flag, **kw)
    ap.add_argument("--run", default="runs/tiny", help="a finished `compass run` directory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="steps per variant per round")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(describe(), f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    with tempfile.TemporaryDirectory() as tmp:
        runs = build(args, Path(tmp))
        for name, tr in runs.items():  # warm-up: kernel choice, allocator
            step(name, tr)
        times = {name: 0.0 for name in runs}
        losses: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, tr in runs.items():
                t = time.perf_counter()
                losses[name] += [step(name, tr) for _ in range(args.steps)]
                times[name] += time.perf_counter() - t
    n = args.rounds * args.steps
    for name in runs:
        print(f"{name:10s} {times[name] / n * 1000:7.1f} ms/step  losses {losses[name][:3]}")
    for name in runs:
        if name != "stage":
            print(f"stage / {name} = {times['stage'] / times[name]:.3f}")
