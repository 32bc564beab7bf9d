"""Run under ``torchrun --nproc-per-node N``: the tiny main stage with FSDP2 on NCCL (a GPU box).

argv: SHARDS OUT_DIR STEPS SPLIT_AT. Three runs of the same stage, each into its own directory:
``full`` (float32, uninterrupted), ``split`` (float32, stopped at SPLIT_AT with a DCP checkpoint
and resumed by fresh objects) and ``bf16`` (FSDP's bfloat16 MixedPrecisionPolicy). Rank 0 writes
the per-step losses to OUT_DIR/losses.json for bench/gpu_check.py to compare.
"""

import json
import sys
from pathlib import Path

from compass.distributed.env import init_distributed, shutdown
from compass.pretrain.run import run_stage
from compass.recipes import get_recipe


def recipe(steps: int, mixed: bool):
    r = get_recipe("tiny")
    m = r.pretrain.main
    m.steps, m.warmup_steps, m.eval_every, m.ckpt_every = steps, 2, steps, steps
    m.eval_batches, m.mixed_precision = 4, mixed
    return r


def main() -> None:
    shards, out, steps, split = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    info = init_distributed()
    full = run_stage(recipe(steps, False), "main", shards, out / "full", info=info)
    first = run_stage(recipe(steps, False), "main", shards, out / "split", info=info, until=split)
    second = run_stage(recipe(steps, False), "main", shards, out / "split", info=info)
    bf16 = run_stage(recipe(steps, True), "main", shards, out / "bf16", info=info)
    if info.is_main:
        result = {
            "backend": info.backend,
            "world_size": info.world_size,
            "full": full.losses,
            "split": first.losses + second.losses,
            "bf16": bf16.losses,
            "eval_full": full.eval,
            "eval_split": second.eval,
        }
        (out / "losses.json").write_text(json.dumps(result))
    shutdown(info)


if __name__ == "__main__":
    main()
