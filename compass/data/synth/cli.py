"""``compass data generate``: the built-in multilingual e-commerce corpus (no downloads)."""

from __future__ import annotations

import argparse
import time

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate the built-in multilingual e-commerce corpus",
        description="Seeded corpus: documents (docs/*.jsonl), evaluation items (eval/*.jsonl) "
        "and the world they come from (world.json). Size and mix: --datagen.* keys.",
    )
    add_recipe_args(p, out_default="runs/data/generated")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.data.synth.generate import generate

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    t0 = time.time()
    save_resolved(recipe, args.out)
    metrics = generate(recipe.datagen, args.out, progress=not args.no_progress)
    write_manifest(
        args.out,
        "data.generate",
        recipe.to_dict(),
        metrics=metrics,
        wall_time_s=round(time.time() - t0, 2),
    )
    return 0
