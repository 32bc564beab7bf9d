"""Failures the loop must survive or report: SIGKILL mid-checkpoint, full disk, NaN/Inf losses,
mismatched tokenizer/shards/architecture."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from compass.config import ConfigError
from compass.data.shards import ShardError, tokenize_curated
from compass.data.shards.fixtures import ByteTokenizer
from compass.model.io import load_model
from compass.pretrain.run import run_stage
from compass.train import checkpoint as ckpt_mod
from compass.train.checkpoint import CheckpointError, latest_checkpoint
from compass.train.loop import TrainingError
from compass.train.metrics import read_metrics

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import compass.train.checkpoint as ck
    from compass.pretrain.run import run_stage
    from compass.recipes import get_recipe

    shards, out = sys.argv[1], Path(sys.argv[2])
    real, calls = ck.save_file, []
    def slow_save_file(tensors, path, *a, **k):
        real(tensors, path, *a, **k)
        calls.append(path)
        if len(calls) > 2:  # second checkpoint: its optimizer file is half-way, stall here
            (out / "WRITING").write_text(path)
            time.sleep(600)
    ck.save_file = slow_save_file
    r = get_recipe("micro")
    r.pretrain.main.steps, r.pretrain.main.ckpt_every, r.pretrain.main.eval_every = 6, 2, 0
    run_stage(r, "main", shards, out)
    """
)


def test_sigkill_during_checkpoint_keeps_previous(shards_dir, tmp_path, recipe_factory):
    out = tmp_path / "run"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(shards_dir), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while not (out / "WRITING").exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "child never reached its second checkpoint"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert (out / ".step_000004.tmp").exists()  # the interrupted write
    assert latest_checkpoint(out).name == "step_000002"
    load_model(out)  # the single-file weights resolve through `latest`
    # resuming discards the partial write and finishes the run exactly like an unbroken one
    resumed = run_stage(recipe_factory(6, ckpt_every=2, eval_every=0), "main", shards_dir, out)
    assert resumed.step == 6 and not (out / ".step_000004.tmp").exists()
    ref = run_stage(
        recipe_factory(6, ckpt_every=2, eval_every=0), "main", shards_dir, tmp_path / "ref"
    )
    assert resumed.losses == ref.losses[2:]


def test_disk_full_while_saving(shards_dir, tmp_path, recipe_factory, monkeypatch):
    out = tmp_path / "run"
    run_stage(recipe_factory(4, ckpt_every=2, eval_every=0), "main", shards_dir, out, until=2)
    real = ckpt_mod.save_file

    def full_disk(tensors, path, *a, **k):
        real(tensors, path, *a, **k)
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(ckpt_mod, "save_file", full_disk)
    with pytest.raises(CheckpointError, match=r"No space left.*step_000002.*intact"):
        run_stage(recipe_factory(4, ckpt_every=2, eval_every=0), "main", shards_dir, out)
    assert latest_checkpoint(out).name == "step_000002"
    assert not list(out.glob(".step_*.tmp"))
    load_model(out)


class NaNAt:
    """Wrap a stage so its loss is NaN (or inf) at chosen optimizer steps."""

    def __init__(self, stage, bad_steps: set[int], trainer_box: list):
        self.stage, self.bad, self.box = stage, bad_steps, trainer_box
        self.name = stage.name

    def __getattr__(self, item):
        return getattr(self.stage, item)

    def loss(self, model, batch):
        out = self.stage.loss(model, batch)
        if self.box[0].step + 1 in self.bad:
            out.loss_sum = out.loss_sum * float("nan")
        return out


def _trainer_with_nans(shards_dir, out, recipe, bad):
    from compass.distributed.env import DistInfo
    from compass.pretrain.run import build_model
    from compass.pretrain.stage import build_stage
    from compass.train.loop import Trainer

    box: list = [None]
    stage = NaNAt(
        build_stage("main", recipe.pretrain, shards_dir, DistInfo(), recipe.seed), bad, box
    )
    box[0] = Trainer(build_model(recipe, "main", None), stage, recipe.pretrain.main, out)
    return box[0]


def test_nan_loss_is_skipped_then_stops(shards_dir, tmp_path, recipe_factory):
    recipe = recipe_factory(5, eval_every=0, ckpt_every=0, max_bad_steps=2)
    trainer = _trainer_with_nans(shards_dir, tmp_path / "a", recipe, {2})
    before = {}

    def snapshot():
        before.update({k: v.clone() for k, v in trainer.model.state_dict().items()})

    trainer.train_step()
    snapshot()
    rec = trainer.train_step()  # step 2: NaN -> no update at all
    assert rec.get("skipped") and trainer.bad_steps == 1
    assert all(torch.equal(v, before[k]) for k, v in trainer.model.state_dict().items())
    res = trainer.fit()
    assert res.step == 5 and res.skipped_steps == 1

    recipe = recipe_factory(8, eval_every=0, ckpt_every=0, max_bad_steps=2)
    trainer = _trainer_with_nans(shards_dir, tmp_path / "b", recipe, {3, 5, 6})
    with pytest.raises(TrainingError, match=r"2 steps had a non-finite loss.*step 5"):
        trainer.fit()
    skipped = [r["step"] for r in read_metrics(tmp_path / "b") if r.get("skipped")]
    assert skipped == [3, 5]


def test_mismatched_inputs_are_named(shards_dir, curated_dir, tmp_path, recipe_factory):
    big_vocab = recipe_factory(2)
    big_vocab.model.vocab_size = 200  # the byte tokenizer needs 258
    with pytest.raises(ShardError, match=r"model\.vocab_size=200"):
        run_stage(big_vocab, "main", shards_dir, tmp_path / "v")
    with pytest.raises(ConfigError, match="pass --init"):
        run_stage(recipe_factory(2), "anneal", shards_dir, tmp_path / "x")
    run_stage(recipe_factory(2, eval_every=0), "main", shards_dir, tmp_path / "m")
    wide = recipe_factory(2)
    wide.model.expert_dim = 32
    with pytest.raises(ConfigError, match=r"model\.expert_dim"):
        run_stage(wide, "anneal", shards_dir, tmp_path / "y", init=tmp_path / "m")
    with pytest.raises(ConfigError, match=r"different architecture.*model\.expert_dim"):
        run_stage(wide, "main", shards_dir, tmp_path / "m")  # resume into another model
    other = tmp_path / "other_shards"
    tokenize_curated(curated_dir, ByteTokenizer(), other, tokenizer_hash="another-tokenizer")
    with pytest.raises(ConfigError, match="trained with tokenizer bytes-v1"):
        run_stage(recipe_factory(2), "anneal", other, tmp_path / "z", init=tmp_path / "m")
    meta = json.loads((latest_checkpoint(tmp_path / "m") / "meta.json").read_text())
    assert meta["tokenizer_hash"] == "bytes-v1" and meta["step"] == 2
