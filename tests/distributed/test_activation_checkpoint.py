"""Activation checkpointing per block: the same gradients, less memory kept for the backward;
and under the parallel engine (expert parallel, whose all-to-alls run again in the recompute)
the same training run as one process without it."""

import pytest
import torch

from compass.distributed.activation_checkpoint import apply_activation_checkpointing
from compass.model import CompassModel
from compass.model.config import ModelConfig
from compass.plan.measure import retained_activation_bytes
from tests.distributed.parity import MODEL, assert_parity


def _grads_and_bytes(mode: str):
    torch.manual_seed(0)
    model = CompassModel(ModelConfig(**MODEL))
    model.init_weights(seed=0)
    apply_activation_checkpointing(model, mode)
    ids = torch.randint(0, MODEL["vocab_size"], (2, 32))

    def loss():
        out = model(ids)
        return out.logits_BTV.square().mean() + out.aux_loss + out.z_loss

    kept = retained_activation_bytes(model, loss)
    loss().backward()
    return {n: p.grad for n, p in model.named_parameters()}, kept


def test_checkpointing_keeps_gradients_and_saves_memory():
    plain, kept_none = _grads_and_bytes("none")
    kept = {"none": kept_none}
    for mode in ("full", "selective"):
        grads, kept[mode] = _grads_and_bytes(mode)
        for name, g in plain.items():
            torch.testing.assert_close(grads[name], g, rtol=1e-5, atol=1e-7, msg=name)
    assert kept["full"] < kept["selective"] < kept["none"], kept
    assert kept["full"] < 0.15 * kept["none"], kept


@pytest.mark.parametrize("mode", ["full", "selective"])
def test_checkpointed_ep2_matches_one_process(mode):
    assert_parity({"ep": 2, "activation_checkpoint": mode}, world=2, steps=4)
