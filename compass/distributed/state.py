"""The whole model's weights gathered from any layout, under the plain model's names.

FSDP shards are gathered with ``full_tensor``, expert-parallel slices concatenated in rank order,
pipeline stages merged; every rank gets the full dict (small models: tests, export of a tiny run;
a large model goes through DCP, ``reshard.py``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from compass.distributed.expert_parallel import is_expert_param


def full_state_dict(engine) -> dict[str, torch.Tensor]:
    mesh, pc = engine.mesh, engine.pc
    out = {}
    for name, t in engine.stage.state_dict().items():
        t = t.full_tensor() if hasattr(t, "full_tensor") else t.detach()
        if pc.ep > 1 and is_expert_param(name):
            parts = [torch.empty_like(t) for _ in range(pc.ep)]
            dist.all_gather(parts, t.contiguous(), group=mesh.group("ep"))
            t = torch.cat(parts)
        out[name] = t.cpu()
    if pc.pp > 1:
        stages: list = [None] * pc.pp
        dist.all_gather_object(stages, out, group=mesh.group("pp"))
        out = {k: v for part in stages for k, v in part.items()}
    return out
