"""Run one SFT stage: ``run_sft(recipe, 1|2, data_dir, tokenizer_dir, out, init)``.

Both stages start from ``init`` (stage 1: the last pretraining checkpoint; stage 2: stage 1's
run dir) with a fresh optimizer, through the shared training loop. A run directory that already
holds a checkpoint resumes exactly. The tokenizer is copied next to the weights so the engine,
export and eval find it.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from pathlib import Path

import torch

from compass.config import ConfigError
from compass.model.io import load_model_config, load_state_into
from compass.model.transformer import CompassModel
from compass.posttrain.formats import read_samples
from compass.posttrain.sft.stage import SFTStage, stage_mix, tokenize
from compass.recipes import Recipe
from compass.tokenizer import load_tokenizer
from compass.tokenizer.locate import place_tokenizer
from compass.train.checkpoint import latest_checkpoint
from compass.train.loop import Trainer, TrainResult

log = logging.getLogger(__name__)


def build_model(init: str | Path, seq_len: int, resuming: bool) -> CompassModel:
    cfg = load_model_config(init)
    cfg.max_seq_len = max(cfg.max_seq_len, seq_len)
    model = CompassModel(cfg)
    return model if resuming else load_state_into(model, init)


def data_files(data: str | Path | list) -> list[Path]:
    """A ``compass data sft`` directory means its ``train.jsonl``; anything else is read as is."""
    paths = [Path(p) for p in (data if isinstance(data, list) else [data])]
    return [p / "train.jsonl" if (p / "train.jsonl").exists() else p for p in paths]


def run_sft(
    recipe: Recipe,
    stage: int,
    data: str | Path | list,
    tokenizer: str | Path,
    out: str | Path,
    init: str | Path,
    until: int | None = None,
) -> tuple[TrainResult, dict]:
    """Train (or resume) SFT stage ``stage`` into ``out``; returns the result and data counts."""
    cfg = recipe.sft.stage(stage)
    out = Path(out)
    tok = load_tokenizer(tokenizer)
    samples, rejects = read_samples(data_files(data))
    seed = recipe.sft.data.seed  # the stage's own seed: pretraining's stays fixed when it varies
    mix = stage_mix(samples, stage, cfg, seed)
    random.Random(seed).shuffle(mix)
    n_val = min(len(mix) // 20, 64)
    counts: Counter = Counter(rejects)
    train = tokenize(mix[n_val:], tok, cfg.seq_len, counts)
    held_out = tokenize(mix[:n_val], tok, cfg.seq_len, Counter())
    resuming = latest_checkpoint(out) is not None
    model = build_model(init, cfg.seq_len, resuming)
    if tok.vocab_size > model.config.vocab_size:
        raise ConfigError(
            f"{tokenizer}: {tok.vocab_size} tokens but the model from {init} has vocab_size "
            f"{model.config.vocab_size} — use the tokenizer the model was pretrained with"
        )
    torch.manual_seed(seed)
    data_stage = SFTStage(f"sft.stage{stage}", train, held_out, cfg, tok.pad_id, seed)
    tokens = sum(len(ids) for ids, _ in train)
    info = {
        "samples": len(mix),
        "trained_samples": len(train),
        "long_cot_samples": sum(1 for s in mix[n_val:] if s.get("long_cot")),
        "tokens_per_epoch": tokens,
        "dropped": dict(counts),
        "real_token_share": round(_real_share(train, cfg, tok.pad_id), 4),
    }
    log.info("sft.stage%d data: %s", stage, json.dumps(info))
    meta = {"recipe": recipe.to_dict(), "init": str(init), "data": str(data)}
    result = Trainer(model, data_stage, cfg, out, meta=meta).fit(until=until)
    place_tokenizer(tok.hf_dir, out)
    return result, info


def _real_share(train, cfg, pad_id: int, n: int = 8) -> float:
    """Share of real tokens in the first ``n`` packed batches (padding is the rest)."""
    from compass.posttrain.sft.packing import pack

    real = total = 0
    for k in range(0, min(len(train), n * 32), 32):
        b = pack(train[k : k + 32], cfg.seq_len, pad_id, cfg.bucket)
        real += int(b.attention_mask_BT.sum())
        total += b.attention_mask_BT.numel()
    return real / max(total, 1)
