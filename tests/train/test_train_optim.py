"""Schedules against their formulas; AdamW groups and one update against a plain reference."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from compass.model import CompassModel, ModelConfig
from compass.train.config import TrainConfig
from compass.train.optim import build_adamw
from compass.train.schedule import coef_at, lr_at


def test_lr_schedules():
    cfg = TrainConfig(steps=110, lr=1.0, min_lr=0.1, warmup_steps=10)
    assert [lr_at(s, cfg) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr_at(10, cfg) == pytest.approx(1.0)
    mid = 10 + 99 / 2
    assert lr_at(int(mid), cfg) == pytest.approx(
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 49 / 99))
    )
    assert lr_at(109, cfg) == pytest.approx(0.1)
    const = TrainConfig(steps=50, lr=3e-5, min_lr=3e-5, warmup_steps=0, lr_schedule="constant")
    assert {lr_at(s, const) for s in range(50)} == {3e-5}
    lin = TrainConfig(steps=21, lr=1.0, min_lr=0.0, warmup_steps=0, lr_schedule="linear")
    assert lr_at(10, lin) == pytest.approx(0.5)


def test_coefficients_decay_from_their_maxima():
    cfg = TrainConfig(steps=101, aux_coef=0.01, z_coef=0.001, coef_final_frac=0.1)
    assert coef_at(0, cfg, cfg.aux_coef) == pytest.approx(0.01)
    assert coef_at(100, cfg, cfg.aux_coef) == pytest.approx(0.001)
    assert coef_at(50, cfg, cfg.z_coef) == pytest.approx(0.00055)
    vals = [coef_at(s, cfg, 0.01) for s in range(101)]
    assert all(a >= b for a, b in itertools.pairwise(vals))
    flat = TrainConfig(steps=10, coef_schedule="constant")
    assert coef_at(9, flat, 0.01) == pytest.approx(0.01)


def test_adamw_groups_and_update_match_reference():
    torch.manual_seed(0)
    model = CompassModel(
        ModelConfig(
            vocab_size=64,
            d_model=32,
            n_layers=1,
            n_heads=2,
            n_kv_heads=1,
            head_dim=16,
            expert_dim=16,
        )
    )
    model.init_weights(0)
    cfg = TrainConfig(lr=1e-2, weight_decay=0.1)
    opt = build_adamw(model, cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in opt.param_groups[0]["params"]}
    plain = {names[id(p)] for p in opt.param_groups[1]["params"]}
    assert (
        "embed.weight" in plain and "norm.weight" in plain and "layers.0.attn_norm.weight" in plain
    )
    assert "lm_head.weight" in decayed and "layers.0.moe.router.weight" in decayed
    assert opt.param_groups[0]["betas"] == (0.9, 0.95) and opt.param_groups[1]["weight_decay"] == 0
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    out = model(torch.randint(0, 64, (2, 8)))
    out.logits_BTV.square().mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt.step()
    for n, p in model.named_parameters():  # first AdamW step, bias-corrected, decoupled decay
        wd = 0.1 if n in decayed else 0.0
        g = grads[n]
        m, v = 0.1 * g / (1 - 0.9), 0.05 * g * g / (1 - 0.95)
        ref = before[n] * (1 - 1e-2 * wd) - 1e-2 * m / (v.sqrt() + 1e-8)
        torch.testing.assert_close(p.detach(), ref, rtol=1e-5, atol=1e-7, msg=n)
