"""Shared fixtures: one small set of real artifacts (corpus, tokenizer, checkpoint, HF export) that
tests of later stages (evaluation, serving, the pipeline) build on, made once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch


@pytest.fixture
def one_thread():
    """One intra-op thread for the test: on the shared 2-core box two threads make tiny matmuls
    many times slower, and training tests need it for determinism. Areas that want it for every
    test request it from an autouse fixture in their conftest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def micro_artifacts(tmp_path_factory) -> dict[str, Path]:
    """A generated corpus, a micro tokenizer trained on it and a random-init micro checkpoint
    (with its tokenizer in ``tokenizer/``) exported to Hugging Face format."""
    from compass.data.synth.config import DataGenConfig
    from compass.data.synth.generate import generate
    from compass.export.hf import export_hf
    from compass.model import CompassModel
    from compass.model.io import save_model
    from compass.recipes import get_recipe
    from compass.tokenizer import load_tokenizer
    from compass.tokenizer.build import train_tokenizer

    root = tmp_path_factory.mktemp("micro_artifacts")
    recipe = get_recipe("micro")
    langs = ["en", "id"]  # two languages keep the fixture fast; the suite is per language anyway
    recipe.tokenizer.languages = langs
    generate(
        DataGenConfig(languages=langs, n_products=120, n_docs=2500, eval_items_per_task=4),
        root / "data",
        progress=False,
    )
    train_tokenizer(recipe.tokenizer, [str(root / "data" / "docs")], root / "tokenizer")
    tok = load_tokenizer(root / "tokenizer")
    cfg = recipe.model
    cfg.vocab_size = tok.vocab_size
    torch.manual_seed(0)
    model = CompassModel(cfg)
    model.init_weights(0)
    ckpt = root / "ckpt"
    save_model(model, ckpt)
    shutil.copytree(root / "tokenizer", ckpt / "tokenizer")
    export_hf(ckpt, root / "hf")
    return {"data": root / "data", "tokenizer": root / "tokenizer", "ckpt": ckpt, "hf": root / "hf"}
