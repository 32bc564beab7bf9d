"""AdamW with the usual split: weight decay on matrices, none on norms, embeddings and biases."""

from __future__ import annotations

import torch
from torch import nn

from compass.train.config import TrainConfig


def no_decay(name: str, param: torch.Tensor) -> bool:
    """Norm gains, biases and embedding tables are not decayed (GPT-2/OLMo convention).

    The router and expert weights are matrices and are decayed like any other projection.
    """
    return param.ndim < 2 or name.endswith(".bias") or "norm" in name or name.startswith("embed")


def build_adamw(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    decay, plain = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (plain if no_decay(name, p) else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    # The fused kernel updates each tensor in one pass instead of the ~8 elementwise ops of the
    # per-tensor loop torch picks on the CPU; it takes plain float tensors, not FSDP2's DTensors.
    return torch.optim.AdamW(
        groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=can_fuse(decay + plain)
    )


def can_fuse(params: list[torch.Tensor]) -> bool:
    """Whether ``AdamW(fused=True)`` takes these parameters: plain float tensors on CPU or GPU."""
    return bool(params) and all(
        type(p.data) is torch.Tensor and p.device.type in ("cpu", "cuda") and p.is_floating_point()
        for p in params
    )
