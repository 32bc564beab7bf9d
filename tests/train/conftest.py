"""A curated parquet fixture corpus and its shards (byte-level tokenizer), built once per
session."""

from __future__ import annotations

from pathlib import Path

import pytest

from compass.data.shards import tokenize_curated
from compass.data.shards.fixtures import ByteTokenizer, make_curated


@pytest.fixture(scope="session")
def curated_dir(tmp_path_factory) -> Path:
    return make_curated(tmp_path_factory.mktemp("curated"), n_docs=300, seed=0)


@pytest.fixture(scope="session")
def shards_dir(tmp_path_factory, curated_dir) -> Path:
    out = tmp_path_factory.mktemp("shards") / "shards"
    tokenize_curated(curated_dir, ByteTokenizer(), out, tokenizer_hash="bytes-v1")
    return out


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Determinism and fair sharing of the 2 cores: every training test runs single-threaded."""
    yield


def micro_recipe(steps: int = 8, **main):
    """The micro recipe with a short main stage (keyword overrides on pretrain.main)."""
    from compass.recipes import get_recipe

    r = get_recipe("micro")
    r.pretrain.main.steps = steps
    r.pretrain.main.warmup_steps = min(r.pretrain.main.warmup_steps, steps)
    for k, v in main.items():
        setattr(r.pretrain.main, k, v)
    return r


@pytest.fixture
def recipe_factory():
    return micro_recipe
