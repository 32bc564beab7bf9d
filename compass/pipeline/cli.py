"""``compass run``: the whole pipeline in one command, resumable."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the whole pipeline in one command")
    add_recipe_args(p, out_default=None)
    p.add_argument("--from", dest="start_from", metavar="STAGE", help="rerun from this stage on")
    p.add_argument(
        "--until",
        metavar="STAGE",
        help="stop after this stage (the later ones are left as they are)",
    )
    p.add_argument(
        "--force", action="store_true", help="rerun everything, even in another run's dir"
    )
    p.add_argument(
        "--plan", action="store_true", help="print the stages, which would run and why, then exit"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from compass.pipeline.report import write_report
    from compass.pipeline.runner import plan, run_steps
    from compass.pipeline.steps import tiny_pipeline

    recipe = resolve_recipe(args)
    steps = tiny_pipeline()
    if args.until:
        names = [s.name for s in steps]
        if args.until not in names:
            log.error("--until %s: no such stage (stages: %s)", args.until, ", ".join(names))
            return 2
        steps = steps[: names.index(args.until) + 1]
    if args.dry_run:
        dry_run(recipe)
        sys.stdout.write("\nstages: " + " → ".join(s.name for s in steps) + "\n")
        return 0
    run_dir = Path(args.out or f"runs/{recipe.name}")
    if args.plan:
        for p in plan(steps, recipe, run_dir, args.start_from, args.force):
            action = "run " if p.will_run else "skip"
            sys.stdout.write(f"{action}  {p.step.name:<16} {p.why:<32} {p.step.describe}\n")
        return 0
    run_steps(steps, recipe, run_dir, args.start_from, args.force)
    save_resolved(recipe, run_dir)
    report = write_report(run_dir, [s.name for s in steps], recipe.name)
    if args.until:
        sys.stdout.write(f"\nStopped after {args.until}. Report: {report}\n")
        return 0
    ckpt = run_dir / "dpo" / "ckpt"  # the final policy: SFT, then online DPO
    sys.stdout.write(
        f"\nDone. Report: {report}\n"
        f"  chat:   .venv/bin/compass chat {ckpt}\n"
        f"  serve:  .venv/bin/compass serve {ckpt}   (portal at http://127.0.0.1:8000/)\n"
        f"  export: {run_dir / 'export' / 'hf'} loads in transformers and vLLM\n"
        "  scale out: see docs/scale-out.md\n"
    )
    return 0
