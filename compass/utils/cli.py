"""Helpers every stage's CLI uses: the recipe options, overrides, --dry-run, the resolved config."""

from __future__ import annotations

import argparse
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
    sub: argparse._SubParsersAction, name: str, help_: str, children: dict[str, tuple[str, str]]
) -> None:
    """A stage with sub-commands (``compass data generate|curate|tokenize``), each in its own module.

    ``children`` maps sub-command -> (module exposing ``register(subparsers)``, help). A module not
    written yet gives a sub-command that says so and exits non-zero.
    """
    import importlib
    import logging

    parser = sub.add_parser(name, help=help_)
    group = parser.add_subparsers(dest=f"{name}_cmd", metavar="CMD", required=True)
    for child, (module, child_help) in children.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name is None or not module.startswith(e.name):
                raise

            def not_built(args: argparse.Namespace, _c: str = f"{name} {child}") -> int:
                logging.getLogger("compass").error("'compass %s' is not built yet", _c)
                return 2

            p = group.add_parser(child, help=f"{child_help} [not built yet]")
            p.set_defaults(func=not_built)
            continue
        mod.register(group)
