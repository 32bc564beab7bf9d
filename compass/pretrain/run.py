"""Run one pretraining stage: ``run_stage(recipe, "main"|"anneal"|"long", shards, out, init)``.

``main`` starts from ``init_weights(recipe.seed)`` (or ``init``); ``anneal`` and ``long`` start
from the previous stage's weights (``init``: a checkpoint dir or run dir) with a fresh optimizer.
``long`` rewrites the model config's RoPE base and context length (ABF) — the weights are
unchanged, only the rotary frequencies move. A run directory that already holds a checkpoint
resumes exactly where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch

from compass.config import ConfigError
from compass.data.shards import check_vocab, read_meta
from compass.distributed.env import DistInfo, data_view, init_distributed
from compass.model.config import ModelConfig
from compass.model.io import load_model_config, load_state_into, resolve_checkpoint
from compass.model.transformer import CompassModel
from compass.pretrain.stage import build_stage
from compass.recipes import Recipe
from compass.train.checkpoint import latest_checkpoint
from compass.train.loop import Trainer, TrainResult

log = logging.getLogger(__name__)


def stage_model_config(recipe: Recipe, stage: str) -> ModelConfig:
    cfg = ModelConfig.from_dict(recipe.model.to_dict())
    scfg = recipe.pretrain.stage(stage)
    if scfg.rope_base is not None:
        cfg.rope_base = scfg.rope_base
    cfg.max_seq_len = max(cfg.max_seq_len, scfg.seq_len)
    return cfg


def _check_init(init: Path, cfg: ModelConfig) -> None:
    """The previous stage's architecture must match (RoPE base and context length may change)."""
    saved = load_model_config(init).to_dict()
    free = {"rope_base", "max_seq_len", "expert_impl"}
    diff = [k for k, v in cfg.to_dict().items() if k not in free and saved.get(k) != v]
    if diff:
        raise ConfigError(
            f"--init {init}: checkpoint architecture differs from the recipe in "
            + ", ".join(f"model.{k} ({saved.get(k)!r} vs {getattr(cfg, k)!r})" for k in diff)
            + " — pass the recipe the previous stage was trained with"
        )


def _check_tokenizer(ckpt: Path, shards_meta: dict, shards: str | Path) -> None:
    meta_path = ckpt / "meta.json"
    if not meta_path.exists():
        return
    saved = json.loads(meta_path.read_text()).get("tokenizer_hash")
    if saved and shards_meta["tokenizer"]["hash"] and saved != shards_meta["tokenizer"]["hash"]:
        raise ConfigError(
            f"{meta_path}: trained with tokenizer {saved} but {shards} was made with tokenizer "
            f"{shards_meta['tokenizer']['hash']} — use shards tokenised with the same tokenizer"
        )


def build_model(
    recipe: Recipe,
    stage: str,
    init: str | Path | None,
    resuming: bool = False,
    on_this_rank: bool = True,
) -> CompassModel:
    """Fresh (main), from ``init`` (anneal/long), or a meta-device shell that a checkpoint (on
    resume) or rank 0's broadcast (under torchrun) fills."""
    cfg = stage_model_config(recipe, stage)
    if init is None and stage != "main" and not resuming:
        raise ConfigError(
            f"pretrain --stage {stage} continues from the previous stage: pass "
            "--init RUN_DIR (the output of the previous stage)"
        )
    if init is not None and not resuming:
        _check_init(Path(init), cfg)
    if resuming or not on_this_rank:  # weights come from the checkpoint or from rank 0
        with torch.device("meta"):
            return CompassModel(cfg)
    torch.manual_seed(recipe.seed)
    model = CompassModel(cfg)
    if init is None:
        model.init_weights(recipe.seed)
        return model
    return load_state_into(model, init)


def run_stage(
    recipe: Recipe,
    stage: str,
    shards: str | Path,
    out: str | Path,
    init: str | Path | None = None,
    info: DistInfo | None = None,
    until: int | None = None,
) -> TrainResult:
    """Train (or resume) one stage into ``out``; returns the loop's result."""
    info = info or init_distributed()
    scfg = recipe.pretrain.stage(stage)
    shards_meta = read_meta(shards)
    check_vocab(shards_meta, recipe.model.vocab_size, shards)
    out = Path(out)
    resuming = latest_checkpoint(out) is not None
    for ckpt in (latest_checkpoint(out), init and resolve_checkpoint(init)):
        if ckpt:
            _check_tokenizer(Path(ckpt), shards_meta, shards)
    model = build_model(recipe, stage, init, resuming, on_this_rank=info.is_main)
    data = build_stage(stage, recipe.pretrain, shards, data_view(info, scfg.parallel), recipe.seed)
    meta = {
        "recipe": recipe.to_dict(),
        "tokenizer_hash": shards_meta["tokenizer"]["hash"],
        "shards": str(shards),
        "init": str(init) if init else None,
    }
    t0 = time.time()
    trainer = Trainer(model, data, scfg, out, info, meta)
    result = trainer.fit(until=until)
    log.info(
        "pretrain.%s: step %d, %.0f tok/s, %.1fs, eval %s",
        stage,
        result.step,
        result.tokens_per_s,
        time.time() - t0,
        {k: round(v, 4) for k, v in result.eval.items()},
    )
    return result
