"""``compass pretrain`` with ``train.parallel`` on 2 gloo processes == one plain process with the
same global batch: the Trainer runs the engine, saves a resharding DCP checkpoint midway,
resumes from it, and writes the full weights every later stage reads."""

import pytest
import torch

from compass.distributed.checkpoint import dcp_to_model
from compass.model import CompassModel
from compass.model.io import load_model, load_model_config
from compass.pretrain.run import run_stage
from tests.distributed.workers import pretrain_parallel, spawn

STEPS, SPLIT = 4, 2


@pytest.mark.parametrize(
    ("layout", "accum", "one_accum"),
    [({"ep": 2}, 1, 2), ({"pp": 2, "pp_schedule": "1f1b"}, 2, 2), ({"cp": 2}, 1, 1)],
    ids=["ep2", "pp2", "cp2"],
)
def test_pretrain_stage_matches_one_process(
    shards_dir, tmp_path, recipe_factory, layout, accum, one_accum
):
    out = tmp_path / "par"
    (rec,), _ = spawn(pretrain_parallel, 2, layout, str(shards_dir), str(out), STEPS, SPLIT, accum)
    one = run_stage(
        recipe_factory(STEPS, micro_batch_size=2, grad_accum=one_accum),
        "main",
        shards_dir,
        tmp_path / "one",
    )
    assert rec["losses"] == pytest.approx(one.losses, rel=1e-5, abs=0)
    assert rec["eval"] == pytest.approx(one.eval, rel=1e-5, abs=0)
    a, b = load_model(tmp_path / "one"), load_model(out)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        # relative to the tensor's norm: Adam turns the summation-order noise of a near-zero
        # gradient into a full-size step, so single elements may differ by ~lr · 1e-3
        assert float((q - p).norm() / p.norm()) <= 1e-5, name
    ckpt = out / f"step_{STEPS:06d}"
    plain = dcp_to_model(ckpt, CompassModel(load_model_config(ckpt)))
    for (name, p), q in zip(b.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(p, q), name


def test_parallel_layout_without_torchrun_is_refused(shards_dir, tmp_path, recipe_factory):
    from compass.config import ConfigError

    recipe = recipe_factory(2, micro_batch_size=2, grad_accum=2)
    recipe.pretrain.main.parallel.pp = 2
    with pytest.raises(ConfigError, match="launch with torchrun and --nproc-per-node 2"):
        run_stage(recipe, "main", shards_dir, tmp_path / "one")
