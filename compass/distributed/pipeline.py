"""Pipeline parallel with ``torch.distributed.pipelining``: one stage per ``pp`` rank.

The stage (``stage.py``) is an ``nn.Module`` over a contiguous range of layers; the schedule
(GPipe or 1F1B) splits the replica's batch into the step's micro-batches and calls the engine's
loss on the last stage. ``scale_grads=False``: the engine's loss already carries the global
normalisation, so the pipeline must not divide by the number of micro-batches again. Every rank
passes the loss function (a schedule built without it on the first stage hung on gloo).
"""

from __future__ import annotations

import torch
from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe

SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}


def build_schedule(engine, mesh, batch: int, tokens: int):
    """The schedule for this rank's stage and micro-batches of ``batch`` × ``tokens``.

    Shapes are given, not inferred: inference runs an extra forward of the stage, which would
    consume a micro-batch's positions and count its expert load twice."""
    stage_mod, cfg = engine.stage, engine.stage.config
    device = next(stage_mod.parameters()).device
    dt = next(stage_mod.parameters()).dtype
    # requires_grad marks what carries a gradient back between stages
    hidden = torch.empty(batch, tokens, cfg.d_model, dtype=dt, device=device, requires_grad=True)
    moe = torch.empty(2, dtype=torch.float32, device=device, requires_grad=True)
    ids = torch.empty(batch, tokens, dtype=torch.long, device=device)
    logits = torch.empty(batch, tokens, cfg.vocab_size, dtype=dt, device=device,
                         requires_grad=True)  # fmt: skip
    stage = PipelineStage(
        stage_mod,
        stage_index=mesh.local("pp"),
        num_stages=engine.pc.pp,
        device=device,
        input_args=(ids,) if stage_mod.first else (hidden, moe),
        output_args=(logits if stage_mod.last else hidden, moe),
        group=mesh.group("pp"),
    )
    cls = SCHEDULES[engine.pc.pp_schedule]
    return cls(stage, n_microbatches=engine.accum, loss_fn=engine._loss, scale_grads=False)
