"""What every post-training command does around its stage: resolve the recipe (with the files
the command line names), ``--dry-run``, one-line errors for bad input, the run manifest."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compass.config import ConfigError
from compass.posttrain.inputs import InputError
from compass.recipes import Recipe
from compass.utils.cli import dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)

Run = Callable[[Recipe, Path], "tuple[dict[str, Any], dict[str, Any]]"]


def run_stage_cli(
    args: argparse.Namespace, name: str, prepare: Callable[[Recipe], None], run: Run
) -> int:
    """``prepare`` puts the command line's files into the recipe; ``run`` trains and returns
    (metrics, inputs) for the manifest. Exit 2 with one line on bad input."""
    recipe = resolve_recipe(args)
    prepare(recipe)
    if args.dry_run:
        return dry_run(recipe)
    out = Path(args.out or f"runs/{recipe.name}/{name}")
    t0 = time.time()
    try:
        recipe.validate_all()
        metrics, inputs = run(recipe, out)
    except (InputError, ConfigError, FileNotFoundError) as e:
        log.error("%s", e)
        return 2
    save_resolved(recipe, out)
    write_manifest(out, name, recipe.to_dict(), _flat(inputs), metrics, time.time() - t0)
    return 0


def _flat(inputs: dict[str, Any]) -> dict[str, str]:
    """One path per manifest entry: a list of files becomes ``key0``, ``key1``, ..."""
    out: dict[str, str] = {}
    for key, value in inputs.items():
        if isinstance(value, list | tuple):
            out |= {f"{key}{i}": str(v) for i, v in enumerate(value)}
        elif value is not None:
            out[key] = str(value)
    return out
