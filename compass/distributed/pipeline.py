"""Pipeline parallel with ``torch.distributed.pipelining``: one stage per ``pp`` rank.

The stage (``stage.py``) is an ``nn.Module`` over a contiguous range of layers; the schedule
(GPipe, 1F1B, or interleaved 1F1B with ``pp_virtual`` stages per rank: rank r runs stages r,
r + pp, ..., which shrinks the bubble by that factor) splits the replica's batch into the step's
micro-batches and calls the engine's loss on the last stage. ``scale_grads=False``: the engine's
loss already carries the global normalisation, so the pipeline must not divide by the number of
micro-batches again. Every rank passes the loss function (a schedule built without it on the
first stage hung on gloo).
"""

from __future__ import annotations

import torch
from torch.distributed.pipelining import (
    PipelineStage,
    Schedule1F1B,
    ScheduleGPipe,
    ScheduleInterleaved1F1B,
)

SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}


def build_schedule(engine, mesh, batch: int, tokens: int):
    """The schedule for this rank's stages and micro-batches of ``batch`` × ``tokens``.

    Shapes are given, not inferred: inference runs an extra forward of the stage, which would
    consume a micro-batch's positions and count its expert load twice."""
    group = engine.stage
    stages = [_pipeline_stage(part, engine.pc, mesh, batch, tokens) for part in group.parts]
    if engine.pc.pp_schedule == "interleaved":
        return ScheduleInterleaved1F1B(
            stages, n_microbatches=engine.accum, loss_fn=engine._loss, scale_grads=False
        )
    cls = SCHEDULES[engine.pc.pp_schedule]
    return cls(stages[0], n_microbatches=engine.accum, loss_fn=engine._loss, scale_grads=False)


def _pipeline_stage(part, pc, mesh, batch: int, tokens: int) -> PipelineStage:
    cfg = part.config
    device = next(part.parameters()).device
    dt = next(part.parameters()).dtype
    # requires_grad marks what carries a gradient back between stages
    hidden = torch.empty(batch, tokens, cfg.d_model, dtype=dt, device=device, requires_grad=True)
    moe = torch.empty(2, dtype=torch.float32, device=device, requires_grad=True)
    ids = torch.empty(batch, tokens, dtype=torch.long, device=device)
    logits = torch.empty(batch, tokens, cfg.vocab_size, dtype=dt, device=device, requires_grad=True)
    return PipelineStage(
        part,
        stage_index=part.index,
        num_stages=pc.pp * pc.stages_per_rank,
        device=device,
        input_args=(ids,) if part.first else (hidden, moe),
        output_args=(logits if part.last else hidden, moe),
        group=mesh.group("pp"),
    )
