"""Reward models on disk, and the check that a reward model can judge a given policy.

A reward-model directory is the usual ``model.safetensors`` + ``model_config.json`` (tensors
``backbone.*``, ``score.weight`` and, with the likelihood term, ``lp_scale``) plus ``reward.json``:
the fingerprint of the tokenizer it was trained with and the likelihood term's ``think_ids``.
``compass reward``'s output directory holds the weight-averaged model in ``soup/`` and each
run's in ``run_<i>/``; :func:`load_reward_model` accepts either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from compass.config import ConfigError
from compass.model.config import ModelConfig
from compass.model.io import CONFIG, load_state_into, resolve_checkpoint, save_model
from compass.model.transformer import CompassModel
from compass.posttrain.reward.model import RewardModel
from compass.utils.io import atomic_write_json
from compass.utils.manifest import hash_path

META = "reward.json"
SOUP = "soup"


def tokenizer_fingerprint(tokenizer_dir: str | Path) -> str:
    """Hash of the SentencePiece model alone: copies of a tokenizer dir with other files agree."""
    d = Path(tokenizer_dir)
    if not (d / "tokenizer.model").exists() and (d / "tokenizer" / "tokenizer.model").exists():
        d = d / "tokenizer"
    return hash_path(d / "tokenizer.model")


def save_reward_model(rm: RewardModel, out: str | Path, meta: dict[str, Any]) -> Path:
    out = save_model(rm, out)
    think = list(rm.think_ids) if rm.think_ids is not None else None
    meta = {"kind": "reward_model", "think_ids": think, **meta}
    atomic_write_json(out / META, meta)
    return out


def reward_dir(path: str | Path) -> Path:
    p = Path(path)
    if (p / SOUP / META).exists():
        return p / SOUP
    if (p / META).exists():
        return p
    try:
        return resolve_checkpoint(p)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{p}: not a reward model (no {META}, no {SOUP}/) — run `compass reward` first"
        ) from None


def load_reward_model(path: str | Path) -> RewardModel:
    d = reward_dir(path)
    cfg = ModelConfig.from_dict(json.loads((d / CONFIG).read_text()))
    meta = json.loads((d / META).read_text()) if (d / META).exists() else {}
    torch.manual_seed(0)
    rm = RewardModel(CompassModel(cfg), think_ids=meta.get("think_ids"))
    return load_state_into(rm, d).float().eval()


def check_matches(rm_path: str | Path, tokenizer_dir: str | Path, vocab_size: int) -> None:
    """A reward model reads the policy's token ids only if both share one tokenizer."""
    d = reward_dir(rm_path)
    meta = json.loads((d / META).read_text()) if (d / META).exists() else {}
    cfg = json.loads((d / CONFIG).read_text())
    want = tokenizer_fingerprint(tokenizer_dir)
    got = meta.get("tokenizer")
    if got and got != want:
        raise ConfigError(
            f"reward model {d} was trained with tokenizer {got}, but the policy's tokenizer "
            f"{tokenizer_dir} is {want}: its scores would read other token ids. Train the reward "
            "model on the policy's checkpoint (compass reward --policy POLICY)"
        )
    if cfg.get("vocab_size") != vocab_size:
        raise ConfigError(
            f"reward model {d} has model.vocab_size={cfg.get('vocab_size')} but the policy has "
            f"{vocab_size}: the backbone does not match the policy — train the reward model on "
            "the policy's checkpoint (compass reward --policy POLICY)"
        )
