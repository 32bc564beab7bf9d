"""Helpers every stage's CLI uses: the recipe options, overrides, --dry-run, the resolved config."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from compass.config import parse_overrides
from compass.recipes import Recipe, get_recipe


def add_recipe_args(parser: argparse.ArgumentParser, out_default: str | None = None) -> None:
    """``--recipe``, ``--dry-run``, ``--out``; any ``--section.key=value`` after them overrides."""
    parser.add_argument(
        "--recipe", default="tiny", help="recipe name (micro, tiny, small, compass_v2_30b_a5b)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--out", default=out_default, help="output artifact directory")
    parser.set_defaults(accepts_overrides=True)
    parser.epilog = (parser.epilog or "") + "Any config key can be overridden: --model.n_layers=4"


def resolve_recipe(args: argparse.Namespace) -> Recipe:
    recipe = get_recipe(args.recipe)
    recipe.apply_overrides(parse_overrides(list(getattr(args, "overrides", []) or [])))
    return recipe


def dry_run(recipe: Recipe) -> int:
    sys.stdout.write(json.dumps(recipe.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0


def save_resolved(recipe: Recipe, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recipe.save(out / "config.json")
    return out / "config.json"


def register_group(
    sub: argparse._SubParsersAction, name: str, help_: str, children: dict[str, str]
) -> None:
    """A stage with sub-commands (``compass data generate|curate|tokenize``), each in its own
    module.

    ``children`` maps sub-command -> the module exposing ``register(subparsers)``.
    """
    parser = sub.add_parser(name, help=help_)
    group = parser.add_subparsers(dest=f"{name}_cmd", metavar="CMD", required=True)
    for module in children.values():
        importlib.import_module(module).register(group)
