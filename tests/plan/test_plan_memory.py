"""The planner's bytes against what is measured on the CPU: model state exactly (on 2 gloo
processes for expert and pipeline parallel), activations within 15% of what autograd keeps."""

import pytest
import torch
import torch.nn.functional as F

from compass.distributed.activation_checkpoint import apply_activation_checkpointing
from compass.distributed.layout import ParallelConfig
from compass.model import CompassModel
from compass.model.config import ModelConfig
from compass.plan.measure import retained_activation_bytes, saved_activation_bytes
from compass.plan.memory import activation_bytes, state_bytes
from compass.recipes import get_recipe
from tests.distributed.parity import MODEL
from tests.distributed.workers import measure_state, spawn


@pytest.mark.parametrize(
    "layout",
    [{"ep": 2}, {"pp": 2}, {"pp": 2, "pp_schedule": "interleaved"}, {"dp_shard": 2}],
    ids=["ep2", "pp2", "pp2-interleaved", "fsdp2"],
)
def test_state_bytes_exact(layout):
    ranks, _ = spawn(measure_state, 2, layout, MODEL, 16)
    pc = ParallelConfig(**layout)
    assert len({r["params"] for r in ranks}) > 1 or "pp" not in layout  # stages really differ
    for got in ranks:
        want = state_bytes(ModelConfig(**MODEL), pc, stage=got["stage"])
        assert (got["params"], got["grads"], got["optim"]) == (
            want.params,
            want.grads,
            want.optim,
        ), (got, want)


def test_state_bytes_one_process():
    m = CompassModel(ModelConfig(**MODEL))
    n = sum(p.numel() for p in m.parameters())
    sb = state_bytes(ModelConfig(**MODEL), ParallelConfig())
    assert (sb.params, sb.grads) == (4 * n, 4 * n)


def _shapes():
    small = get_recipe("small").model
    small.n_layers = 2  # the small recipe's layer shapes, two of them (seconds, not minutes)
    return [("tiny", get_recipe("tiny").model, 2, 128), ("small", small, 1, 64)]


@pytest.mark.parametrize(("name", "cfg", "batch", "seq"), _shapes(), ids=["tiny", "small"])
@pytest.mark.parametrize("mode", ["none", "full", "selective"])
def test_activation_bytes_within_15_percent(name, cfg, batch, seq, mode):
    cfg.expert_impl = "grouped_mm"  # the unpadded kernel the GPU runs (CPU bmm pads to the max)
    torch.manual_seed(0)
    model = CompassModel(cfg)
    model.init_weights(seed=0)
    apply_activation_checkpointing(model, mode)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq))
    labels = torch.randint(0, cfg.vocab_size, (batch, seq))

    def step():
        out = model(ids)
        logits = out.logits_BTV.flatten(0, 1).float()
        return F.cross_entropy(logits, labels.flatten(), reduction="sum") + out.aux_loss

    want = activation_bytes(cfg, batch, seq, ParallelConfig(), mode)
    kept = retained_activation_bytes(model, step)
    assert want == pytest.approx(kept, rel=0.15), (name, mode, want, kept)
    if mode == "none":
        assert want == pytest.approx(saved_activation_bytes(model, step), rel=0.15)
