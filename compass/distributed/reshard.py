"""Distributed checkpoints (DCP) that any layout can read: save under ep/pp/cp/dp_shard, load
under another one, or into one plain process for export.

Every tensor is saved under the plain model's name and its GLOBAL shape: a rank's piece is a
``DTensor`` view that says where it sits (an expert-parallel slice is ``Shard(0)`` over ``ep``,
an FSDP2 shard ``Shard(0)`` over ``dp_shard``, both for experts under FSDP2 × EP); pipeline
stages hold disjoint names; replicated tensors are written once. AdamW's moments follow their
parameter, so a checkpoint reshards the optimizer as well as the weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.tensor import DTensor, Shard
from torch.distributed.tensor.placement_types import _StridedShard

from compass.distributed.expert_parallel import is_expert_param

MOMENTS = ("exp_avg", "exp_avg_sq")


def _placed(engine, name: str, t: torch.Tensor) -> torch.Tensor:
    """``t`` (this rank's piece of parameter ``name``) as a DTensor of the global tensor."""
    mesh, pc = engine.mesh, engine.pc
    local = t.to_local() if isinstance(t, DTensor) else t
    expert = pc.ep > 1 and is_expert_param(name)
    shape = list(t.shape)  # an FSDP2 DTensor already has the global shape of its ep slice
    if expert:
        shape[0] *= pc.ep
    if expert and pc.dp_shard > 1:
        # FSDP2 cuts the ep slice again: dim 0 is split over ep first, then dp_shard — the
        # order the mesh (dp_shard outer) expresses with a strided shard, as for FSDP × TP
        sub, places = mesh.mesh["dp_shard", "ep"], [_StridedShard(0, split_factor=pc.ep), Shard(0)]
    elif expert:
        sub, places = mesh.mesh["ep"], [Shard(0)]
    elif pc.dp_shard > 1:
        sub, places = mesh.mesh["dp_shard"], [Shard(0)]
    else:
        return local
    stride = torch.empty(shape, device="meta").stride()
    return DTensor.from_local(
        local, sub, places, run_check=False, shape=torch.Size(shape), stride=stride
    )


def _state(named_params, optim, place) -> dict:
    init_adamw_state(optim)
    model, opt = {}, {}
    for name, p in named_params:
        model[name] = place(name, p.data if not isinstance(p, DTensor) else p)
        st = optim.state[p]
        opt[f"{name}.step"] = st["step"]
        for k in MOMENTS:
            opt[f"{name}.{k}"] = place(name, st[k])
    return {"model": model, "optim": opt}


def save_resharding(engine, optim: torch.optim.Optimizer, path: str | Path) -> None:
    state = _state(engine.module.named_parameters(), optim, lambda n, t: _placed(engine, n, t))
    dcp.save(state, checkpoint_id=str(path))


def load_resharding(engine, optim: torch.optim.Optimizer, path: str | Path) -> None:
    """Fill this rank's pieces in place from a checkpoint written under any layout."""
    state = _state(engine.module.named_parameters(), optim, lambda n, t: _placed(engine, n, t))
    dcp.load(state, checkpoint_id=str(path))


def load_plain(model: nn.Module, optim: torch.optim.Optimizer | None, path: str | Path) -> None:
    """Load into one process without a process group (export, or resume on one device)."""
    if optim is None:
        optim = torch.optim.AdamW(model.parameters())
    state = _state(model.named_parameters(), optim, lambda n, t: t)
    dcp.load(state, checkpoint_id=str(path), no_dist=True)


def init_adamw_state(optim: torch.optim.Optimizer) -> None:
    """AdamW creates its state at the first step; a resume needs the tensors to load into."""
    for group in optim.param_groups:
        for p in group["params"]:
            st = optim.state[p]
            if not st:
                st["step"] = torch.tensor(0.0)
                for k in MOMENTS:
                    st[k] = torch.zeros_like(p, memory_format=torch.preserve_format)
