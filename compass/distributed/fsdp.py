"""FSDP2 (``fully_shard``) applied from outside the model.

Each transformer block is its own FSDP unit (its parameters are gathered just before it runs and
freed after), then the root takes the embeddings, final norm and LM head. Expert parallelism
would shard ``layers[i].moe.experts`` over a second mesh dimension here; the model code stays as
it is.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from compass.distributed.env import DistInfo


def apply_fsdp(model: nn.Module, info: DistInfo, mixed_precision: bool = False) -> nn.Module:
    """Shard ``model`` in place across the default process group; returns it."""
    if not info.distributed:
        return model
    kwargs = {}
    if mixed_precision:
        # bf16 compute, fp32 gradient reduction: the usual GPU recipe (never on CPU).
        kwargs["mp_policy"] = MixedPrecisionPolicy(
            param_dtype=torch.bfloat16, reduce_dtype=torch.float32
        )
    for block in model.layers:
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())
