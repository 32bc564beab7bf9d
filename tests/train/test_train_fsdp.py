"""torchrun FSDP2 on gloo (2 ranks, and a world of one) == 1 plain process with the same global
batch; DCP save/load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from compass.distributed.checkpoint import dcp_to_model
from compass.model import CompassModel
from compass.model.io import load_model, load_model_config
from compass.pretrain.run import run_stage

WORKER = Path(__file__).with_name("fsdp_worker.py")


# A world of one (one GPU under torchrun) joins the group too and runs the same FSDP2 + DCP path.
@pytest.mark.parametrize("nproc", [2, 1])
def test_torchrun_fsdp_matches_one_process(shards_dir, tmp_path, recipe_factory, nproc):
    steps, split = 4, 2
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        str(WORKER),
        str(shards_dir),
        str(tmp_path / "fsdp"),
        str(steps),
        str(split),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dist = json.loads((tmp_path / "fsdp" / "losses.json").read_text())
    assert dist["world_size"] == nproc and dist["sharded"], dist

    # one process, same global batch: nproc micro-batches of 2 sequences accumulated
    one = run_stage(
        recipe_factory(steps, micro_batch_size=2, grad_accum=nproc),
        "main",
        shards_dir,
        tmp_path / "one",
    )
    assert dist["losses"] == pytest.approx(one.losses, rel=1e-5, abs=0)
    assert dist["eval"] == pytest.approx(one.eval, rel=1e-5, abs=0)

    # the rank-0 full weights match, and the DCP shards convert to the same single-file model
    a, b = load_model(tmp_path / "one"), load_model(tmp_path / "fsdp")
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-6, msg=name)
    ckpt = tmp_path / "fsdp" / "step_000004"
    plain = dcp_to_model(ckpt, CompassModel(load_model_config(ckpt)))
    for (name, p), q in zip(b.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(p, q), name
