"""One ``DeviceMesh`` for the whole run, built from :class:`ParallelConfig`.

Dimensions, outermost first: ``pp``, ``dp_shard``, ``cp``, ``ep`` (all four always exist, size 1
when unused, so every piece asks the mesh for its group the same way). Derived groups:
- ``replica``: the ranks holding the same dense (non-expert) parameters — every rank of one
  pipeline stage; their gradients are summed.
- ``expert_replica``: the ranks holding the same routed experts — one stage's ``dp_shard`` × ``cp``.
- ``data``: the coordinate that picks this rank's sequences, ``dp_shard`` × ``ep``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

from compass.distributed.layout import DIMS, ParallelConfig


@dataclass
class Mesh:
    config: ParallelConfig
    mesh: DeviceMesh
    _groups: dict = field(default_factory=dict)

    def size(self, dim: str) -> int:
        return self.mesh.size(DIMS.index(dim))

    def local(self, dim: str) -> int:
        return self.mesh.get_local_rank(dim)

    def group(self, dim: str) -> dist.ProcessGroup:
        return self.mesh.get_group(dim)

    def flat_group(self, dims: tuple[str, ...]) -> dist.ProcessGroup | None:
        """The group spanning ``dims`` (None when they are all of size 1: nothing to reduce).

        Built once per set of dims; every rank must ask for the same sets in the same order
        (creating a group is collective), which the engine does at construction."""
        used = tuple(d for d in DIMS if d in dims and self.size(d) > 1)
        if not used:
            return None
        if len(used) == 1:
            return self.group(used[0])
        if used not in self._groups:
            keep = [DIMS.index(d) for d in used]
            other = [i for i in range(len(DIMS)) if i not in keep]
            ranks = self.mesh.mesh.permute(*other, *keep).reshape(-1, self.group_size(used))
            self._groups[used], _ = dist.new_subgroups_by_enumeration(ranks.tolist())
        return self._groups[used]

    def group_size(self, dims: tuple[str, ...]) -> int:
        n = 1
        for d in dims:
            n *= self.size(d)
        return n

    @property
    def data_rank(self) -> int:
        return self.local("dp_shard") * self.size("ep") + self.local("ep")

    @property
    def data_world(self) -> int:
        return self.size("dp_shard") * self.size("ep")


def build_mesh(config: ParallelConfig, device_type: str | None = None) -> Mesh:
    """The mesh over the already-initialised default process group."""
    if device_type is None:
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    shape = tuple(getattr(config, d) for d in DIMS)
    return Mesh(config, init_device_mesh(device_type, shape, mesh_dim_names=DIMS))
