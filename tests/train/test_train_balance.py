"""The load-balance loss does its job: with it routing is measurably more even than without."""

from __future__ import annotations

import torch

from compass.data.shards import LoaderSpec, PackedLoader
from compass.model.io import load_model
from compass.pretrain.run import run_stage
from compass.train.metrics import expert_load_stats


def test_aux_loss_improves_balance(shards_dir, tmp_path, recipe_factory):
    # Balance measured on one fixed 4096-token batch (per-step counts over 256 tokens are noisy).
    probe = PackedLoader(shards_dir, LoaderSpec(seq_len=64, batch_size=64, seed=99)).next_batch()
    stats, aux = {}, {}
    for coef in (0.01, 0.0):
        recipe = recipe_factory(60, aux_coef=coef, eval_every=0, ckpt_every=0)
        run_stage(recipe, "main", shards_dir, tmp_path / f"aux{coef}")
        with torch.no_grad():
            out = load_model(tmp_path / f"aux{coef}")(probe["input_ids"])
        stats[coef] = expert_load_stats(out.expert_counts_LE)["load_max_mean"]
        aux[coef] = float(out.aux_loss)
    # L_aux is 1 for uniform routing; max/mean can saturate at E/k in a collapsed layer early on
    assert aux[0.01] < aux[0.0] - 0.1, aux
    assert all(a <= b for a, b in zip(stats[0.01], stats[0.0])), stats
    assert sum(stats[0.01]) < sum(stats[0.0]), stats


def test_expert_load_stats_oracle():
    counts = torch.tensor([[4, 4, 4, 4], [8, 0, 0, 0]])
    s = expert_load_stats(counts)
    assert s["load_max_mean"] == [1.0, 4.0]
    assert s["load_entropy"] == [1.0, 0.0]
