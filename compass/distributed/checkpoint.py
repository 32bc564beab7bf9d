"""Sharded checkpoints with ``torch.distributed.checkpoint`` (DCP), and conversion to safetensors.

Every rank writes its own shards of the model and optimizer state; loading reshards, so a run
may resume on a different number of ranks. ``full_model_state`` gathers the whole model on rank
0 so the same checkpoint also holds the single-file ``model.safetensors`` every consumer reads.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

DCP_DIR = "dcp"


def save_sharded(model: nn.Module, optim: torch.optim.Optimizer, ckpt_dir: Path) -> None:
    engine = getattr(model, "engine", None)
    if engine is not None:  # the parallel engine's stage: a checkpoint any layout can read
        from compass.distributed.reshard import save_resharding

        return save_resharding(engine, optim, ckpt_dir / DCP_DIR)
    state = {
        "model": get_model_state_dict(model),
        "optim": get_optimizer_state_dict(model, optim),
    }
    dcp.save(state, checkpoint_id=str(ckpt_dir / DCP_DIR))


def load_sharded(model: nn.Module, optim: torch.optim.Optimizer, ckpt_dir: Path) -> None:
    engine = getattr(model, "engine", None)
    if engine is not None:
        from compass.distributed.reshard import load_resharding

        return load_resharding(engine, optim, ckpt_dir / DCP_DIR)
    state = {
        "model": get_model_state_dict(model),
        "optim": get_optimizer_state_dict(model, optim),
    }
    dcp.load(state, checkpoint_id=str(ckpt_dir / DCP_DIR))
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, optim, state["optim"])


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded state dict, on CPU, on rank 0 (other ranks get an empty dict)."""
    engine = getattr(model, "engine", None)
    if engine is not None:
        from compass.distributed.state import full_state_dict

        return full_state_dict(engine)
    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=opts)


def dcp_to_model(ckpt_dir: str | Path, model: nn.Module) -> nn.Module:
    """Load a DCP checkpoint's model weights into a plain (unsharded) model in one process."""
    state = {"model": model.state_dict()}
    dcp.load(state, checkpoint_id=str(Path(ckpt_dir) / DCP_DIR), no_dist=True)
    model.load_state_dict(state["model"])
    return model
