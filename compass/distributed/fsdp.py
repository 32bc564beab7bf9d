"""FSDP2 (``fully_shard``) applied from outside the model.

Each transformer block is its own FSDP unit (its parameters are gathered just before it runs and
freed after), then the root takes the embeddings, final norm and LM head. Under the parallel
engine (``engine.py``) the same units shard over the mesh's ``dp_shard`` dimension only, after
expert parallel has cut the routed experts; the model code stays as it is.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from compass.distributed.env import DistInfo

# bf16 compute, fp32 gradient reduction: the usual GPU recipe (never on CPU).
BF16_POLICY = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)


def apply_fsdp(model: nn.Module, info: DistInfo, mixed_precision: bool = False) -> nn.Module:
    """Shard ``model`` in place across the default process group; returns it."""
    if not info.distributed:
        return model
    kwargs = {"mp_policy": BF16_POLICY} if mixed_precision else {}
    from compass.model.transformer import Block

    # every transformer block, wherever it sits (a reward model wraps the LM as .backbone)
    for block in [m for m in model.modules() if isinstance(m, Block)]:
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def shard_from_rank0(model: nn.Module, info: DistInfo, mixed_precision: bool = False) -> nn.Module:
    """Shard a model whose weights exist only on rank 0 (other ranks pass a meta-device model).

    Rank 0 builds or loads the full model once on CPU; every other rank builds it on the meta
    device (no memory); all ranks shard the meta structure and rank 0 broadcasts each shard, so a
    30B model is materialised once, not once per rank. When rank 0's model is on the meta device
    too (resuming), the shards are left uninitialised for the checkpoint to fill.
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    from compass.distributed.env import broadcast_object

    has_weights = info.is_main and not any(p.is_meta for p in model.parameters())
    has_weights = broadcast_object(has_weights, info)
    # rank 0 keeps its full tensors in ``full`` while the module itself becomes a meta shell
    full = dict(model.state_dict()) if has_weights and info.is_main else {}
    model.to_empty(device="meta")
    apply_fsdp(model, info, mixed_precision)
    model.to_empty(device=info.device)
    if has_weights:
        opts = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
        set_model_state_dict(model, full, options=opts)
    return model


def shard_blocks(module: nn.Module, mesh, mixed_precision: bool = False) -> nn.Module:
    """FSDP2 over ``mesh`` (the ``dp_shard`` dimension of the parallel engine's mesh): each block
    its own unit, the rest (embedding, norm, head of a pipeline stage) the root's."""
    from compass.model.transformer import Block

    kwargs = {"mesh": mesh, **({"mp_policy": BF16_POLICY} if mixed_precision else {})}
    for block in [m for m in module.modules() if isinstance(m, Block)]:
        fully_shard(block, **kwargs)
    fully_shard(module, **kwargs)
    return module
