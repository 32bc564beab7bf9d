"""``compass data tasks --world DIR --out DIR``: the world's post-training files.

``DIR`` is a ``compass data generate`` directory (its ``world.json``; its ``eval/`` prompts are
kept out of every training file). Writes the layout of ``compass.data.synth.tasks.produce``:
instruction samples, preference pairs, verifier chains, DPO and Best-of-N prompts, held-out sets.
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
    p = sub.add_parser("tasks", help="write the world's SFT, preference and prompt files")
    p.add_argument("--world", required=True, help="`compass data generate` output directory")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.data.synth.tasks.produce import write_tasks
    from compass.data.synth.world import World

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    gen = Path(args.world)
    if not (gen / "world.json").exists():
        log.error("--world %s: no world.json — run `compass data generate --out %s`", gen, gen)
        return 2
    out = Path(args.out or f"runs/{recipe.name}/tasks")
    t0 = time.time()
    report = write_tasks(recipe.tasks, World.load(gen / "world.json"), out, gen / "eval")
    save_resolved(recipe, out)
    write_manifest(
        out, "data.tasks", recipe.to_dict(), {"world": str(gen)}, report, time.time() - t0
    )
    sys.stdout.write(json.dumps(report) + "\n")
    return 0
