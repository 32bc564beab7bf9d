"""Step time of the tiny demo's training steps with each routed-expert kernel: ``auto`` (the
checkpoints' setting: the padded ``bmm`` unless padding would more than double its work) as the
baseline, vs ``grouped_mm`` forced and ``measure`` (bmm or grouped_mm as timed once per shape on
this CPU). Same batches, interleaved (rounds of a few steps each); losses side by side.

- ``--step pretrain``: pretraining's main stage (8 x 256) from the demo's main checkpoint.
- ``--step sft``: SFT stage 2 from the stage-1 checkpoint (as ``bench/sft_step.py``).
- ``--step dpo``: online DPO on round 0's pairs (as ``bench/dpo_step.py``; samples them first).

    OMP_NUM_THREADS=1 .venv/bin/python bench/expert_kernel.py --run runs/tiny --step sft
"""

from __future__ import annotations

from pathlib import Path

import torch
from dpo_step import round0
from sft_step import sft2_data
from step_race import race

from compass.distributed.env import DistInfo
from compass.model.io import load_model
from compass.posttrain.dpo.stage import DPOStage
from compass.posttrain.schedule import epochs_config
from compass.posttrain.sft.run import build_model as sft_model
from compass.posttrain.sft.stage import SFTStage
from compass.pretrain.run import build_model as pretrain_model
from compass.pretrain.stage import build_stage
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer

IMPLS = {"stage": "auto", "grouped_mm": "grouped_mm", "measure": "measure"}


def makers(step: str, run: Path):
    """(a function impl -> (model, stage), the train config)."""
    recipe = get_recipe("tiny")
    if step == "pretrain":
        cfg = recipe.pretrain.stage("main")

        def make():
            data = build_stage("main", recipe.pretrain, run / "tokenize" / "shards", DistInfo(), 0)
            return pretrain_model(recipe, "main", run / "pretrain_main" / "ckpt"), data

        return make, cfg
    if step == "sft":
        cfg, seed, train, init = sft2_data(run)
        pad_id = load_tokenizer(run / "tokenizer").pad_id

        def make():
            torch.manual_seed(seed)
            stage = SFTStage("sft", train, [], cfg, pad_id, seed)
            return sft_model(init, cfg.seq_len, False), stage

        return make, cfg
    dcfg, pairs, init = round0(run)
    cfg = epochs_config(dcfg.train, dcfg.epochs, len(pairs))

    def make():
        stage = DPOStage(pairs, cfg.micro_batch_size, dcfg.beta, dcfg.seed, dcfg.nll_alpha)
        return load_model(init), stage

    return make, cfg


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    make, cfg = makers(args.step, Path(args.run))
    out = {}
    for name, impl in IMPLS.items():
        model, stage = make()
        for layer in model.layers:
            layer.moe.experts.impl = impl
        out[name] = Trainer(model, stage, cfg, tmp / name)
    return out


def main() -> None:
    opt = {"default": "sft", "choices": ["pretrain", "sft", "dpo"], "help": "which step"}
    race(__doc__, trainers, options={"--step": opt})


if __name__ == "__main__":
    main()
