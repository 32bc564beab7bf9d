"""Step time of a pretraining stage on the tiny demo's shards: the stage as it is vs a named
baseline, measured in the same run on the same batches, interleaved (rounds of a few steps each).

- ``mask``: attention through the [B, T, T] block-diagonal mask of the packed documents
  (``lm_loss(doc_segments=False)``).
- ``segments``: one document at a time (``lm_loss(doc_segments=True)``).

The stage picks one of the two by row length (``SEGMENT_MIN_LEN``).

``--stage main`` starts from the demo's main checkpoint (8 x 256), ``anneal`` from it too
(12 x 256), ``long`` from the anneal checkpoint (2 x 1024). Losses are printed side by side
(they differ at float level only).

    OMP_NUM_THREADS=1 .venv/bin/python bench/pretrain_step.py --run runs/tiny --stage main
"""

from __future__ import annotations

from pathlib import Path

import torch
from step_race import race

from compass.distributed.env import DistInfo
from compass.pretrain.run import build_model
from compass.pretrain.stage import PretrainStage, build_stage
from compass.recipes import get_recipe
from compass.train.loop import Trainer
from compass.train.stage import lm_loss

INIT = {"main": "pretrain_main", "anneal": "pretrain_main", "long": "pretrain_anneal"}


class MaskStage(PretrainStage):
    def loss(self, model, batch):
        return lm_loss(model, batch, self.isolate_docs)


class SegmentsStage(PretrainStage):
    def loss(self, model, batch):
        return lm_loss(model, batch, self.isolate_docs, doc_segments=True)


VARIANTS = {"stage": PretrainStage, "mask": MaskStage, "segments": SegmentsStage}


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    run, recipe = Path(args.run), get_recipe("tiny")
    scfg = recipe.pretrain.stage(args.stage)
    out = {}
    for name, cls in VARIANTS.items():
        data = build_stage(args.stage, recipe.pretrain, run / "tokenize" / "shards", DistInfo(), 0)
        data.__class__ = cls
        model = build_model(recipe, args.stage, run / INIT[args.stage] / "ckpt")
        torch.manual_seed(recipe.seed)
        out[name] = Trainer(model, data, scfg, tmp / name)
    return out


def main() -> None:
    opt = {"default": "main", "choices": sorted(INIT), "help": "the pretraining stage"}
    race(__doc__, trainers, options={"--stage": opt})


if __name__ == "__main__":
    main()
