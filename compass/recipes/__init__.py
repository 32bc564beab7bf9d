"""Named recipes: plain Python functions returning a :class:`Recipe`.

``tiny`` runs the whole pipeline on a 2-core CPU in minutes; ``micro`` is smaller still, for the
integration test; ``small`` is a GPU-workstation model; ``compass_v2_30b_a5b`` is the report's
model.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from compass.config import ConfigError
from compass.recipes.compass_v2_30b_a5b import compass_v2_30b_a5b
from compass.recipes.recipe import Recipe
from compass.recipes.small import small
from compass.recipes.tiny import micro, tiny

RECIPES: dict[str, Callable[[], Recipe]] = {
    "micro": micro,
    "tiny": tiny,
    "small": small,
    "compass_v2_30b_a5b": compass_v2_30b_a5b,
}


def get_recipe(name: str) -> Recipe:
    key = name.replace("-", "_").replace(".", "_").lower()
    if key not in RECIPES:
        close = difflib.get_close_matches(key, list(RECIPES), n=1, cutoff=0.4)
        hint = f" — did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown recipe '{name}'{hint} (recipes: {', '.join(RECIPES)})")
    recipe = RECIPES[key]()
    recipe.validate_all()
    return recipe


__all__ = ["RECIPES", "Recipe", "get_recipe"]
