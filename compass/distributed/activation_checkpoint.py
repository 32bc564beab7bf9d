"""Activation checkpointing per transformer block, applied from outside the model.

- ``full``: a block keeps only its input; everything inside is recomputed in the backward.
- ``selective``: the outputs of the matmuls and attention (the expensive ops) are kept, the cheap
  elementwise work between them (norms, SwiGLU, RoPE, softmax of the router) is recomputed —
  most of the memory of ``full`` is not saved, at a fraction of its recompute cost.
The block's ``forward`` is wrapped on the instance, so parameter names, FSDP units and
checkpoints are those of the plain model.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn
from torch.utils.checkpoint import (
    CheckpointPolicy,
    checkpoint,
    create_selective_checkpoint_contexts,
)

_SAVE = {
    torch.ops.aten.mm.default,
    torch.ops.aten.bmm.default,
    torch.ops.aten.addmm.default,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default,
    torch.ops.aten._scaled_dot_product_efficient_attention.default,
    torch.ops.aten._scaled_dot_product_flash_attention.default,
}
if hasattr(torch.ops.aten, "_grouped_mm"):
    _SAVE.add(torch.ops.aten._grouped_mm.default)


def _policy(ctx, op, *args, **kwargs):
    return CheckpointPolicy.MUST_SAVE if op in _SAVE else CheckpointPolicy.PREFER_RECOMPUTE


def _checkpointed(forward, mode: str, *args):
    if mode == "selective":
        ctx = partial(create_selective_checkpoint_contexts, _policy)
        return checkpoint(forward, *args, use_reentrant=False, context_fn=ctx)
    return checkpoint(forward, *args, use_reentrant=False)


def apply_activation_checkpointing(model: nn.Module, mode: str) -> nn.Module:
    """Wrap every transformer block of ``model`` (``mode``: none, full or selective)."""
    if mode == "none":
        return model
    from compass.model.transformer import Block

    for block in [m for m in model.modules() if isinstance(m, Block)]:
        block.forward = partial(_checkpointed, block.forward, mode)
    return model
