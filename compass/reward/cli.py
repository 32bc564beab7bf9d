"""``compass reward --policy CKPT --world DIR --out DIR [--tokenizer DIR] [--input PAIRS.jsonl]``.

Trains ``reward.runs`` reward models on the policy's checkpoint, averages them into ``OUT/soup``,
and reports pairwise accuracy on held-out pairs and Best-of-N accuracy vs N (``metrics.json``).
``--world`` is the directory of ``compass data generate`` (world.json + eval/) or a world.json;
without it the world is built from the recipe's ``datagen`` settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def add_world_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--world", default=None, help="`compass data generate` dir or a world.json")
    p.add_argument("--tokenizer", default=None, help="tokenizer dir (default: POLICY/tokenizer)")


def load_world(arg: str | None, recipe):
    """(World, eval dir or None) from ``--world``, or built from the recipe's datagen config."""
    from compass.data.synth.world import World

    if arg is None:
        d = recipe.datagen
        return World.build(d.seed, d.n_products, d.n_shops, d.n_users), None
    p = Path(arg)
    path = p / "world.json" if p.is_dir() else p
    if not path.exists():
        raise FileNotFoundError(f"--world {arg}: no world.json — run `compass data generate`")
    eval_dir = path.parent / "eval"
    return World.load(path), eval_dir if eval_dir.is_dir() else None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reward", help="reward models, weight averaging, Best-of-N")
    p.add_argument("--policy", required=True, help="checkpoint the reward models start from")
    p.add_argument("--input", action="append", default=[], help="JSONL of preference pairs")
    add_world_args(p)
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.reward.run import train_reward

    recipe = resolve_recipe(args)
    recipe.reward.inputs = list(recipe.reward.inputs) + list(args.input)
    if args.dry_run:
        return dry_run(recipe)
    out = Path(args.out or f"runs/{recipe.name}/reward")
    t0 = time.time()
    try:
        world, eval_dir = load_world(args.world, recipe)
        metrics = train_reward(recipe.reward, args.policy, out, world, args.tokenizer, eval_dir)
    except FileNotFoundError as e:
        log.error("%s", e)
        return 2
    save_resolved(recipe, out)
    inputs = {"policy": args.policy, **{f"input{i}": x for i, x in enumerate(args.input)}}
    write_manifest(out, "reward", recipe.to_dict(), inputs, metrics, time.time() - t0)
    sys.stdout.write(json.dumps(summary(metrics), indent=2) + "\n")
    return 0


def summary(metrics: dict) -> dict:
    bon = metrics["best_of_n"]
    return {
        "pairwise_accuracy": {k: round(v, 3) for k, v in metrics["pairwise_accuracy"].items()},
        "best_of_n": {
            k: {n: round(a, 3) for n, a in v.items()} for k, v in bon.items() if isinstance(v, dict)
        },
        "wall_s": metrics["wall_s"],
    }
