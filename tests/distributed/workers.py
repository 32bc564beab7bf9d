"""Spawned gloo processes for the parallel tests: a launcher and the parallel training run."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from compass.distributed.engine import ParallelEngine
from compass.distributed.layout import ParallelConfig
from compass.distributed.mesh import build_mesh
from compass.distributed.reshard import load_resharding, save_resharding
from compass.distributed.state import full_state_dict
from compass.model import CompassModel
from compass.model.config import ModelConfig
from compass.train.config import TrainConfig
from compass.train.optim import build_adamw
from compass.train.schedule import coef_at, lr_at
from tests.reference.train_loop import micro_batches


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, world: int, port: int, fn, args, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = fn(*args)
        if rank == 0 and result is not None:
            records, state = result
            save_file(state or {}, f"{out}/state.safetensors")
            Path(f"{out}/records.json").write_text(json.dumps(records))
    finally:
        dist.destroy_process_group()


def spawn(fn, world: int, *args):
    """Run ``fn(*args)`` on ``world`` gloo ranks; rank 0's (records, state) come back."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_entry, args=(world, _free_port(), fn, args, out), nprocs=world, join=True)
        return json.loads(Path(f"{out}/records.json").read_text()), load_file(
            f"{out}/state.safetensors"
        )


def train_parallel(
    layout: dict,
    model_cfg: dict,
    train_cfg: dict,
    steps: int,
    n_micro: int,
    batch: int,
    seq: int,
    packed: bool,
    start: int = 0,
    load: str | None = None,
    save: str | None = None,
):
    """Steps ``start..steps-1`` under ``layout`` (from the DCP checkpoint ``load`` if given;
    ``save`` writes one at the end)."""
    pc, cfg = ParallelConfig(**layout), TrainConfig(**train_cfg)
    mcfg = ModelConfig(**model_cfg)
    mesh = build_mesh(pc, "cpu")
    model = CompassModel(mcfg)
    model.init_weights(seed=0)
    accum = n_micro // mesh.data_world
    engine = ParallelEngine(model, pc, mesh, accum, seq)
    optim = build_adamw(engine.module, cfg)
    if load:
        load_resharding(engine, optim, load)
    lo = mesh.data_rank * accum
    records = []
    for step in range(start, steps):
        for g in optim.param_groups:
            g["lr"] = lr_at(step, cfg)
        alpha, beta = coef_at(step, cfg, cfg.aux_coef), coef_at(step, cfg, cfg.z_coef)
        mine = micro_batches(step, n_micro, batch, seq, mcfg.vocab_size, packed)[lo : lo + accum]
        stats = engine.forward_backward(mine, alpha, beta)
        engine.reduce_gradients()
        stats["grad_norm"] = engine.clip_gradients(cfg.grad_clip)
        optim.step()
        optim.zero_grad(set_to_none=True)
        stats["counts"] = stats.pop("counts_LE").tolist()
        records.append(stats)
    if save:
        save_resharding(engine, optim, save)
    return records, full_state_dict(engine)


def measure_state(layout: dict, model_cfg: dict, seq: int):
    """Each rank's parameter, gradient and AdamW bytes after one step (all ranks, rank order)."""
    pc = ParallelConfig(**layout)
    mesh = build_mesh(pc, "cpu")
    model = CompassModel(ModelConfig(**model_cfg))
    model.init_weights(seed=0)
    accum = max(pc.pp, 1)
    engine = ParallelEngine(model, pc, mesh, accum, seq)
    optim = build_adamw(engine.module, TrainConfig())
    batches = micro_batches(0, accum * mesh.data_world, 1, seq, model_cfg["vocab_size"], False)
    engine.forward_backward(batches[mesh.data_rank * accum :][:accum], 0.01, 0.001)
    engine.reduce_gradients()
    optim.step()

    def nbytes(ts):
        return sum(_local_bytes(t) for t in ts)

    params = list(engine.module.parameters())
    mine = {
        "stage": mesh.local("pp"),
        "params": nbytes(params),
        "grads": nbytes(p.grad for p in params),
        "optim": nbytes(v for st in optim.state.values() for v in st.values()),
    }
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    return everyone, {}


def _local_bytes(t: torch.Tensor) -> int:
    t = t.to_local() if hasattr(t, "to_local") else t
    return t.numel() * t.element_size()


def pretrain_parallel(layout: dict, shards: str, out: str, steps: int, split: int, accum: int):
    """The micro recipe's main stage under ``train.parallel`` (trained to ``split``, saved,
    resumed with fresh objects to ``steps``): losses and eval of rank 0."""
    from compass.distributed.env import init_distributed
    from compass.pretrain.run import run_stage
    from tests.train.conftest import micro_recipe

    def recipe():
        r = micro_recipe(steps, micro_batch_size=2, grad_accum=accum)
        for k, v in layout.items():
            setattr(r.pretrain.main.parallel, k, v)
        return r

    info = init_distributed()
    first = run_stage(recipe(), "main", shards, out, info=info, until=split)
    second = run_stage(recipe(), "main", shards, out, info=info)
    return [{"losses": first.losses + second.losses, "eval": second.eval}], {}
