"""Model weights on disk: ``model.safetensors`` + ``model_config.json`` in one directory.

Every stage that produces a model (pretraining checkpoints, SFT, DPO, reward models, quantized
models) writes this pair, and every consumer (export, engine, evaluation) loads it with
:func:`load_model`. A training run directory with a ``latest`` pointer resolves to its newest
complete checkpoint. Loading checks every tensor's name and shape and names the first mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from compass.config import ConfigError
from compass.model.config import ModelConfig
from compass.model.transformer import CompassModel
from compass.utils.io import atomic_write_json

WEIGHTS = "model.safetensors"
CONFIG = "model_config.json"
LATEST = "latest"


def resolve_checkpoint(path: str | Path) -> Path:
    """A directory holding ``model.safetensors``, or a run directory whose ``latest`` names one."""
    path = Path(path)
    if (path / WEIGHTS).exists():
        return path
    if (path / LATEST).exists():
        target = path / (path / LATEST).read_text().strip()
        if (target / WEIGHTS).exists():
            return target
        raise FileNotFoundError(f"{path / LATEST} points to {target}, which holds no {WEIGHTS}")
    raise FileNotFoundError(
        f"{path}: no {WEIGHTS} and no '{LATEST}' pointer — pass a checkpoint directory written by "
        "compass (pretrain/sft/dpo) or run the stage that produces it"
    )


def save_model(model: CompassModel, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        state.pop("lm_head.weight", None)
    tmp = out / f".{WEIGHTS}.tmp"
    save_file(state, str(tmp), metadata={"format": "pt", "producer": "compass"})
    tmp.replace(out / WEIGHTS)
    atomic_write_json(out / CONFIG, model.config.to_dict())
    return out


def load_model_config(path: str | Path) -> ModelConfig:
    ckpt = resolve_checkpoint(path)
    try:
        return ModelConfig.from_dict(json.loads((ckpt / CONFIG).read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(f"{ckpt}: {CONFIG} is missing beside {WEIGHTS}") from None
    except ConfigError as e:
        raise ConfigError(f"{ckpt / CONFIG}: {e}") from None


def check_state_dict(
    expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor], source: str
) -> None:
    """Raise a message naming the tensor and both shapes on the first structural mismatch."""
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    if missing or unexpected:
        raise ConfigError(
            f"{source}: checkpoint does not match the model config — missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    for k, v in expected.items():
        if tuple(got[k].shape) != tuple(v.shape):
            raise ConfigError(
                f"{source}: tensor '{k}' has shape {tuple(got[k].shape)} in the checkpoint but "
                f"{tuple(v.shape)} in the model config — "
                "the checkpoint comes from a different architecture"
            )


def load_state_into(model: CompassModel, path: str | Path) -> CompassModel:
    ckpt = resolve_checkpoint(path)
    state = load_file(str(ckpt / WEIGHTS))
    expected = model.state_dict()
    if model.config.tie_embeddings:
        expected = {k: v for k, v in expected.items() if k != "lm_head.weight"}
    check_state_dict(expected, state, str(ckpt / WEIGHTS))
    model.load_state_dict(state, strict=not model.config.tie_embeddings)
    return model


def load_model(
    path: str | Path, config: ModelConfig | None = None, dtype: torch.dtype = torch.float32
) -> CompassModel:
    config = config or load_model_config(path)
    with torch.device("meta"):
        model = CompassModel(config)
    model = model.to_empty(device="cpu")
    if config.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    load_state_into(model, path)
    return model.to(dtype).eval()
