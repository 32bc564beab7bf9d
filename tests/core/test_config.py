"""Configs: strict round trips, typed dotted overrides, errors that name the key and a fix."""

import json

import pytest

from compass.config import ConfigError, parse_overrides
from compass.recipes import RECIPES, Recipe, get_recipe


def test_every_recipe_validates_and_round_trips():
    for name in RECIPES:
        r = get_recipe(name)
        again = Recipe.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again == r, name


def test_dotted_override_converts_types():
    r = get_recipe("tiny")
    r.apply_overrides(
        {"model.n_layers": "3", "model.rope_base": "1e6", "model.tie_embeddings": "true"}
    )
    assert r.model.n_layers == 3 and r.model.rope_base == 1e6 and r.model.tie_embeddings is True


def test_dotted_override_sets_one_entry_of_a_dict_field():
    r = get_recipe("tiny")
    before = dict(r.datagen.mix)
    r.apply_overrides({"datagen.mix.recall": "0.15"})
    assert r.datagen.mix == before | {"recall": 0.15}
    assert get_recipe("tiny").datagen.mix == before  # the recipe's default is not touched
    with pytest.raises(ConfigError, match=r"datagen\.mix\.recall.*expected float"):
        get_recipe("tiny").apply_overrides({"datagen.mix.recall": "lots"})
    with pytest.raises(ConfigError, match=r"unknown kinds \['recal'\]"):
        get_recipe("tiny").apply_overrides({"datagen.mix.recal": "0.1"})


def test_unknown_key_names_the_nearest_valid_one():
    r = get_recipe("tiny")
    with pytest.raises(ConfigError, match=r"'model.n_layer'.*did you mean 'model.n_layers'"):
        r.apply_overrides({"model.n_layer": "2"})
    with pytest.raises(ConfigError, match="unknown config key 'modle'"):
        Recipe.from_dict({"modle": {}})


def test_bad_value_names_the_key():
    with pytest.raises(ConfigError, match=r"model\.n_layers.*expected int"):
        get_recipe("tiny").apply_overrides({"model.n_layers": "four"})


def test_override_that_breaks_consistency_fails_validation():
    with pytest.raises(ConfigError, match="top_k"):
        get_recipe("tiny").apply_overrides({"model.top_k": "64"})


def test_unknown_recipe_suggests_one():
    with pytest.raises(ConfigError, match="did you mean 'tiny'"):
        get_recipe("tinyy")
    assert get_recipe("compass-v2-30b-a5b").name == "compass_v2_30b_a5b"


def test_parse_overrides_forms():
    assert parse_overrides(["--model.n_layers=4", "--seed", "3"]) == {
        "model.n_layers": "4",
        "seed": "3",
    }
    with pytest.raises(ConfigError, match="has no value"):
        parse_overrides(["--model.n_layers"])
