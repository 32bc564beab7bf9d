"""What a forward keeps for its backward, in bytes: the ground truth the planner is checked against.

Two counts:
- ``saved_activation_bytes``: every tensor an op saves for its backward, seen through
  ``torch.autograd.graph.saved_tensors_hooks`` (no checkpointing: checkpoint installs its own
  hooks, which hide the tensors saved inside a checkpointed block);
- ``retained_activation_bytes``: every storage the forward allocated that is still alive when it
  returns (so held by the autograd graph), which also sees what checkpointing keeps — the blocks'
  inputs under ``full``, the matmul outputs under ``selective``.
Tensors sharing a storage are counted once; parameters (booked separately) not at all.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import torch
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def saved_activation_bytes(model: nn.Module, run: Callable[[], torch.Tensor]) -> int:
    """Bytes autograd saves while ``run()`` does a forward of ``model`` (no checkpointing)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = run()
    del out
    return sum(seen.values())


class _Allocations(TorchDispatchMode):
    """Weak references to the storage of every tensor an op returns."""

    def __init__(self):
        super().__init__()
        self.storages: dict[int, tuple[StorageWeakRef, int]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                st = t.untyped_storage()
                self.storages[st.data_ptr()] = (StorageWeakRef(st), st.nbytes())
        return out


def retained_activation_bytes(model: nn.Module, run: Callable[[], torch.Tensor]) -> int:
    """Bytes the forward ``run()`` leaves alive for the backward (its own output excluded)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    with _Allocations() as allocs:
        out = run()
    gc.collect()
    skip = params | {out.untyped_storage().data_ptr()}
    total = sum(
        n for ptr, (ref, n) in allocs.storages.items() if ptr not in skip and not ref.expired()
    )
    del out
    return total
