"""Step time of SFT stage 2 on the tiny demo's own data: the stage as it is vs a named baseline,
measured in the same run on the same batches, interleaved (rounds of a few steps each).

- ``full_head``: the LM head and the cross-entropy at every position of the packed rows (the
  loss before ``lm_loss(labelled_only=True)``): SFT's labels cover about 30% of them.

Both start from the same stage-1 checkpoint and read the same batches; their losses are printed
side by side (they differ at float level only).

    OMP_NUM_THREADS=1 .venv/bin/python bench/sft_step.py --run runs/tiny
    .venv/bin/python bench/sft_step.py --run runs/tiny --rounds 4 --steps 5
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch
from machine import describe

from compass.posttrain.formats import read_samples
from compass.posttrain.sft.run import build_model, data_files
from compass.posttrain.sft.stage import SFTStage, stage_mix, tokenize
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer
from compass.train.stage import lm_loss


class FullHeadStage(SFTStage):
    def loss(self, model, batch):
        return lm_loss(model, batch, isolate_docs=True)


VARIANTS = {"stage": SFTStage, "full_head": FullHeadStage}


def trainers(run: Path, tmp: Path) -> dict[str, Trainer]:
    recipe = get_recipe("tiny")
    cfg, seed = recipe.sft.stage(2), recipe.sft.data.seed
    tok = load_tokenizer(run / "tokenizer")
    samples, _ = read_samples(data_files(run / "sft_data"))
    mix = stage_mix(samples, 2, cfg, seed)
    random.Random(seed).shuffle(mix)
    train = tokenize(mix[64:], tok, cfg.seq_len, Counter())
    out = {}
    for name, cls in VARIANTS.items():
        model = build_model(run / "sft1" / "ckpt", cfg.seq_len, False)
        torch.manual_seed(seed)
        stage = cls("sft.stage2", train, [], cfg, tok.pad_id, seed)
        out[name] = Trainer(model, stage, cfg, tmp / name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/tiny", help="a finished `compass run` directory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="steps per variant per round")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(describe(), f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    with tempfile.TemporaryDirectory() as tmp:
        runs = trainers(Path(args.run), Path(tmp))
        for tr in runs.values():  # warm-up: kernel choice, allocator
            tr.train_step()
        times = {name: 0.0 for name in runs}
        losses: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, tr in runs.items():
                t = time.perf_counter()
                losses[name] += [tr.train_step()["loss"] for _ in range(args.steps)]
                times[name] += time.perf_counter() - t
    n = args.rounds * args.steps
    for name in runs:
        print(f"{name:10s} {times[name] / n * 1000:7.1f} ms/step  losses {losses[name][:3]}")
    for name in runs:
        if name != "stage":
            print(f"stage / {name} = {times['stage'] / times[name]:.3f}")


if __name__ == "__main__":
    main()
