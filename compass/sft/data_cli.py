"""``compass data sft --world DIR/world.json [--eval-dir DIR] [--input JSONL ...] --out DIR``.

Generates the eight-language instruction set from the data generator's world (or only reads
``--input`` files: JSONL of OpenAI ``messages``), checks every sample, selects, and writes
``train.jsonl``, ``eval/cart_arithmetic.jsonl`` and ``report.json`` (see ``compass.sft.data``).
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sft", help="generate and select SFT instruction data")
    p.add_argument("--world", default=None, help="world.json from `compass data generate`")
    p.add_argument("--eval-dir", default=None, help="held-out eval/*.jsonl whose prompts to avoid")
    p.add_argument("--input", action="append", default=[], help="JSONL of chat samples (repeat)")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.data.synth.world import World
    from compass.sft.data import build_sft_data

    recipe = resolve_recipe(args)
    recipe.sft.data.inputs = list(recipe.sft.data.inputs) + list(args.input)
    if args.dry_run:
        return dry_run(recipe)
    if args.world is None and not recipe.sft.data.inputs:
        log.error("compass data sft: pass --world world.json (generator) and/or --input FILE")
        return 2
    if args.world is not None and not Path(args.world).exists():
        log.error("--world %s: no such file; run `compass data generate` first", args.world)
        return 2
    out = Path(args.out or f"runs/{recipe.name}/sft_data")
    t0 = time.time()
    world = World.load(args.world) if args.world else None
    try:
        report = build_sft_data(recipe.sft, world, out, args.eval_dir)
    except FileNotFoundError as e:
        log.error("%s", e)
        return 2
    save_resolved(recipe, out)
    inputs = {k: v for k, v in (("world", args.world), ("eval_dir", args.eval_dir)) if v}
    write_manifest(out, "data.sft", recipe.sft.to_dict(), inputs, report, time.time() - t0)
    sys.stdout.write(json.dumps({k: report[k] for k in ("kept", "rejected", "by_stage")}) + "\n")
    return 0
