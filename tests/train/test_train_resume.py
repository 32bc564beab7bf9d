"""Exact resume (2N == N + save + resume with fresh objects + N) and the golden micro losses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from compass.model.io import load_model
from compass.pretrain.run import run_stage
from compass.train.checkpoint import latest_checkpoint
from compass.train.metrics import read_metrics

GOLDEN = Path(__file__).with_name("golden_micro_losses.json")


def test_resume_is_exact(shards_dir, tmp_path, recipe_factory):
    # ckpt/eval inside the run too, so resume must also survive a mid-run eval and keep-last
    kw = dict(ckpt_every=2, eval_every=3, keep_last=2)
    full = run_stage(recipe_factory(8, **kw), "main", shards_dir, tmp_path / "full")
    first = run_stage(recipe_factory(8, **kw), "main", shards_dir, tmp_path / "split", until=5)
    assert first.step == 5 and latest_checkpoint(tmp_path / "split").name == "step_000005"
    second = run_stage(recipe_factory(8, **kw), "main", shards_dir, tmp_path / "split")
    assert first.losses + second.losses == full.losses  # bit-identical
    assert second.eval == full.eval
    a, b = load_model(tmp_path / "full"), load_model(tmp_path / "split")
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    # metrics.jsonl of the resumed run reads like one run; keep_last pruned old step dirs
    steps = [r["step"] for r in read_metrics(tmp_path / "split") if r["kind"] == "train"]
    assert steps == list(range(1, 9))
    assert sorted(p.name for p in (tmp_path / "split").glob("step_*")) == [
        "step_000006",
        "step_000008",
    ]


def test_golden_micro_losses(shards_dir, tmp_path, recipe_factory):
    """First steps of the micro recipe on the fixture corpus. A numerics change must update the
    file with a reason in the commit: COMPASS_UPDATE_GOLDEN=1 pytest tests/train -k golden."""
    result = run_stage(recipe_factory(6, eval_batches=0), "main", shards_dir, tmp_path / "g")
    if os.environ.get("COMPASS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps({"losses": result.losses}, indent=1) + "\n")
    golden = json.loads(GOLDEN.read_text())["losses"]
    assert result.losses == pytest.approx(golden, rel=1e-5, abs=0)
    assert golden[-1] < golden[0] - 0.5  # and it learns
