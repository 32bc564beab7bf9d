"""Run under ``torchrun --nproc-per-node N`` (N = 1 or 2): the micro main stage with FSDP2 on gloo.

argv: SHARDS OUT_DIR STEPS SPLIT_AT. Trains to SPLIT_AT (DCP checkpoint), then resumes with fresh
objects to STEPS; rank 0 writes the per-step losses to OUT_DIR/losses.json.
"""

import json
import sys
from pathlib import Path

import torch

from compass.distributed.env import init_distributed, shutdown
from compass.pretrain.run import run_stage
from compass.recipes import get_recipe


def recipe(steps: int):
    r = get_recipe("micro")
    r.pretrain.main.steps = steps
    r.pretrain.main.micro_batch_size = 2
    r.pretrain.main.grad_accum = 1
    return r


def main() -> None:
    torch.set_num_threads(1)
    shards, out, steps, split = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    info = init_distributed()
    first = run_stage(recipe(steps), "main", shards, out, info=info, until=split)
    second = run_stage(recipe(steps), "main", shards, out, info=info)
    if info.is_main:
        losses = first.losses + second.losses
        sharded = info.distributed and (Path(out) / "step_000004" / "dcp").is_dir()
        with open(f"{out}/losses.json", "w") as f:
            json.dump(
                {
                    "losses": losses,
                    "eval": second.eval,
                    "world_size": info.world_size,
                    "sharded": sharded,
                },
                f,
            )
    shutdown(info)


if __name__ == "__main__":
    main()
