"""``compass pretrain --stage main|anneal|long --recipe tiny --shards DIR --out DIR [--init CKPT]``.

The same command runs under ``torchrun --nproc-per-node N -m compass.cli pretrain ...``: the
model is sharded with FSDP2 and checkpoints are written with torch.distributed.checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="pretraining: main, anneal, long-context")
    p.add_argument("--stage", choices=("main", "anneal", "long"), default="main")
    p.add_argument("--shards", required=True, help="shard directory (compass data tokenize)")
    p.add_argument("--init", default=None, help="checkpoint or run dir to start from")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.distributed.env import init_distributed, shutdown
    from compass.pretrain.run import run_stage

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    info = init_distributed()
    if not info.is_main:
        logging.getLogger().setLevel(logging.WARNING)
    out = Path(args.out or f"runs/{recipe.name}/pretrain_{args.stage}")
    t0 = time.time()
    try:
        result = run_stage(recipe, args.stage, args.shards, out, args.init, info)
        if info.is_main:
            save_resolved(recipe, out)
            inputs = {"shards": args.shards, **({"init": args.init} if args.init else {})}
            metrics = {
                "step": result.step,
                "tokens_per_s": round(result.tokens_per_s, 1),
                "load_max_mean": result.load_max_mean,
                "eval_load_max_mean": result.eval_load_max_mean,
                **{k: round(v, 5) for k, v in result.eval.items()},
            }
            write_manifest(
                out, f"pretrain.{args.stage}", recipe.to_dict(), inputs, metrics, time.time() - t0
            )
    finally:
        shutdown(info)
    return 0
