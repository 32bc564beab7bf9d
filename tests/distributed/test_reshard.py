"""DCP checkpoints reshard: saved under one layout, resumed under another, the run goes on with
the losses and weights of an uninterrupted one-process run."""

import pytest
import torch

from compass.model import CompassModel
from compass.model.config import ModelConfig
from compass.train.config import TrainConfig
from compass.train.optim import build_adamw
from tests.distributed.parity import MODEL, TRAIN, one_process
from tests.distributed.workers import spawn, train_parallel
from tests.reference.train_loop import micro_batches, train_one_process

STEPS, SPLIT = 4, 2
SHAPE = dict(n_micro=4, batch=2, seq=16, packed=True)


def _run(layout, world, start, steps, load=None, save=None):
    s = SHAPE
    args = (
        layout,
        MODEL,
        TRAIN,
        steps,
        s["n_micro"],
        s["batch"],
        s["seq"],
        s["packed"],
        start,
        load,
        save,
    )
    return spawn(train_parallel, world, *args)


def _assert_same(records, state, ref, ref_state):
    assert [r["loss"] for r in records] == pytest.approx([r["loss"] for r in ref], rel=1e-5)
    for name, want in ref_state.items():
        torch.testing.assert_close(state[name], want, rtol=1e-5, atol=1e-6, msg=name)


def test_ep2_checkpoint_resumes_in_one_process(tmp_path):
    from compass.distributed.reshard import load_plain

    _run({"ep": 2}, 2, 0, SPLIT, save=str(tmp_path / "ckpt"))
    model = CompassModel(ModelConfig(**MODEL))
    cfg = TrainConfig(**TRAIN)
    optim = build_adamw(model, cfg)
    load_plain(model, optim, tmp_path / "ckpt")
    s = SHAPE
    records, state = train_one_process(
        model,
        cfg,
        STEPS,
        lambda i: micro_batches(
            i, s["n_micro"], s["batch"], s["seq"], MODEL["vocab_size"], s["packed"]
        ),
        start=SPLIT,
        optim=optim,
    )
    ref, ref_state = one_process(STEPS, s["n_micro"], s["batch"], s["seq"], s["packed"])
    _assert_same(records, state, ref[SPLIT:], ref_state)


def test_pp2_checkpoint_resumes_under_ep2(tmp_path):
    _run({"pp": 2}, 2, 0, SPLIT, save=str(tmp_path / "ckpt"))
    records, state = _run({"ep": 2}, 2, SPLIT, STEPS, load=str(tmp_path / "ckpt"))
    s = SHAPE
    ref, ref_state = one_process(STEPS, s["n_micro"], s["batch"], s["seq"], s["packed"])
    _assert_same(records, state, ref[SPLIT:], ref_state)


@pytest.mark.slow
def test_fsdp2xep2_checkpoint_resumes_under_pp2xcp2(tmp_path):
    _run({"dp_shard": 2, "ep": 2}, 4, 0, SPLIT, save=str(tmp_path / "ckpt"))
    records, state = _run({"pp": 2, "cp": 2}, 4, SPLIT, STEPS, load=str(tmp_path / "ckpt"))
    s = SHAPE
    ref, ref_state = one_process(STEPS, s["n_micro"], s["batch"], s["seq"], s["packed"])
    _assert_same(records, state, ref[SPLIT:], ref_state)
