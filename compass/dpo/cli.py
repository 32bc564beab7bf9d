"""``compass dpo --policy CKPT --reward RM_DIR --world DIR --out DIR [--prompts FILE.jsonl]``.

Runs ``dpo.rounds`` rounds of online DPO from the policy (normally the SFT stage-2 checkpoint)
with the reward model of ``compass reward``; writes the final policy to ``OUT/ckpt`` and the
before/after comparison on held-out prompts to ``OUT/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from compass.reward.cli import add_world_args, load_world
from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dpo", help="online DPO")
    p.add_argument("--policy", required=True, help="starting policy (and frozen reference)")
    p.add_argument("--reward", required=True, help="reward model dir (`compass reward` output)")
    p.add_argument("--prompts", action="append", default=[], help="JSONL of extra prompts")
    add_world_args(p)
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.dpo.run import run_dpo

    recipe = resolve_recipe(args)
    recipe.dpo.prompt_files = list(recipe.dpo.prompt_files) + list(args.prompts)
    if args.dry_run:
        return dry_run(recipe)
    out = Path(args.out or f"runs/{recipe.name}/dpo")
    t0 = time.time()
    try:
        world, eval_dir = load_world(args.world, recipe)
        metrics = run_dpo(recipe.dpo, args.policy, args.reward, out, world, args.tokenizer,
                          eval_dir)  # fmt: skip
    except FileNotFoundError as e:
        log.error("%s", e)
        return 2
    save_resolved(recipe, out)
    inputs = {"policy": args.policy, "reward": args.reward}
    write_manifest(out, "dpo", recipe.to_dict(), inputs, metrics, time.time() - t0)
    sys.stdout.write(
        json.dumps({k: metrics[k] for k in ("before", "after", "wall_s")}, indent=2) + "\n"
    )
    return 0
