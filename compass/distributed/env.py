"""The process group: rank, world size and device, from torchrun's environment variables.

One process without torchrun never touches ``torch.distributed``. Under ``torchrun`` every rank
joins the group, even a world of one (so one GPU runs the same FSDP2 + DCP path as many); the
backend is NCCL when CUDA is present and gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import torch
import torch.distributed as dist


def default_device() -> torch.device:
    """The GPU when there is one: every stage trains where the work is fast, not only
    pretraining."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def module_device(module: torch.nn.Module) -> torch.device:
    """Where a module's parameters live (the CPU for one without parameters): callers that build
    batches on the CPU move them there."""
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=default_device)
    backend: str = ""

    @property
    def distributed(self) -> bool:
        return self.world_size > 1 or bool(self.backend)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the torchrun process group if there is one (idempotent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and "TORCHELASTIC_RUN_ID" not in os.environ:  # a plain process, no torchrun
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device, backend = torch.device("cuda", local), "nccl"
        torch.cuda.set_device(device)
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local, device, backend)


def all_reduce_sum(x: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``x`` over ranks in place. Callers keep small statistics on the CPU; NCCL reduces
    device tensors only, so those travel to the rank's device and back."""
    if info.distributed:
        y = x.to(info.device)
        dist.all_reduce(y, op=dist.ReduceOp.SUM)
        if y is not x:
            x.copy_(y)
    return x


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def broadcast_object(obj, info: DistInfo):
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_object(obj, info: DistInfo) -> list:
    if not info.distributed:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def shutdown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def data_view(info: DistInfo, parallel) -> DistInfo:
    """The rank and world a data loader shards by: under expert/pipeline/context parallel,
    the ranks of one pipeline or one sequence read the same batch (``ParallelConfig``)."""
    if not (info.distributed and parallel.enabled):
        return info
    rank, world = parallel.data_coords(info.rank)
    return replace(info, rank=rank, world_size=world)
