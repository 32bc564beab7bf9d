"""`compass pretrain` chains main -> anneal -> long on the micro recipe, with every artifact."""

from __future__ import annotations

import json
import logging

import torch

from compass.cli import main
from compass.distributed.env import DistInfo
from compass.model.io import load_model, load_model_config
from compass.pretrain.stage import build_stage
from compass.recipes import get_recipe
from compass.train.metrics import read_metrics
from compass.train.stage import lm_loss


def test_three_stages_chain(shards_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    runs = {s: tmp_path / s for s in ("main", "anneal", "long")}
    base = ["--recipe", "micro", "--shards", str(shards_dir)]
    assert main(["pretrain", "--stage", "main", *base, "--out", str(runs["main"])]) == 0
    assert (
        main(
            [
                "pretrain",
                "--stage",
                "anneal",
                *base,
                "--out",
                str(runs["anneal"]),
                "--init",
                str(runs["main"]),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "pretrain",
                "--stage",
                "long",
                *base,
                "--out",
                str(runs["long"]),
                "--init",
                str(runs["anneal"]),
                "--pretrain.long.steps=4",
            ]
        )
        == 0
    )
    manifests = {s: json.loads((d / "manifest.json").read_text()) for s, d in runs.items()}
    for s, d in runs.items():
        assert manifests[s]["stage"] == f"pretrain.{s}"
        assert (d / "config.json").exists() and (d / "loss.png").stat().st_size > 0
        assert load_model(d) is not None
    # annealing on the high-quality subset lowers the held-out high-quality loss
    m = manifests["main"]["metrics"]
    assert manifests["anneal"]["metrics"]["eval/val_hq"] < m["eval/val_hq"]
    assert manifests["main"]["metrics"]["step"] == 30 and manifests["long"]["metrics"]["step"] == 4
    # long context: ABF raises the RoPE base, the context is 8x, short context stays monitored
    long_cfg = load_model_config(runs["long"])
    assert long_cfg.rope_base == 1_000_000.0 and long_cfg.max_seq_len == 512
    assert load_model_config(runs["anneal"]).rope_base == 10_000.0
    assert "eval/val_short" in manifests["long"]["metrics"]
    recs = read_metrics(runs["long"])
    assert {r["lr"] for r in recs if r["kind"] == "train"} == {3e-4}
    assert all(len(r["load_max_mean"]) == 2 for r in recs if r["kind"] == "train")
    _check_eval_load(runs["main"], manifests["main"]["metrics"], shards_dir)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    assert any(
        "| loss " in x and "| gnorm " in x and "| tok/s " in x and "| eta " in x for x in lines
    )


def test_dry_run_shows_every_stage(capsys):
    assert (
        main(
            [
                "pretrain",
                "--recipe",
                "compass_v2_30b_a5b",
                "--shards",
                "x",
                "--dry-run",
                "--pretrain.anneal.lr=1e-4",
            ]
        )
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)["pretrain"]
    assert cfg["main"]["global_batch"] == 5760 and cfg["main"]["warmup_steps"] == 3000
    assert cfg["anneal"]["lr"] == 1e-4 and cfg["anneal"]["global_batch"] == 8640
    assert cfg["long"]["seq_len"] == 32768 and cfg["long"]["steps"] == 2200


def _check_eval_load(run_dir, metrics, shards_dir):
    """The final evaluation's per-layer load = max/mean of the expert counts over the "val"
    batches, recounted here with the saved model (an independent pass over the same batches)."""
    recipe = get_recipe("micro")
    stage = build_stage("main", recipe.pretrain, shards_dir, DistInfo(), recipe.seed)
    model = load_model(run_dir).eval()
    with torch.no_grad():
        batches = stage.eval_sets()["val"]()
        counts = sum(lm_loss(model, b, True).expert_counts_LE.double() for b in batches)
    want = (counts.max(-1).values / counts.mean(-1)).tolist()
    assert metrics["eval_load_max_mean"] == [round(x, 4) for x in want]
    assert metrics["eval/load_max_mean"] == max(metrics["eval_load_max_mean"])
