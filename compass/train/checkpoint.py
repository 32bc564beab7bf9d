"""Training checkpoints: weights in safetensors, everything else beside them, atomic and exact.

```
run_dir/
  latest                 names the newest COMPLETE step directory (written last, atomically)
  step_000100/
    model.safetensors    full weights (compass.model.io format: load_model(run_dir) works)
    model_config.json
    optimizer.safetensors + trainer_state.json["optimizer"]   (one process)
    dcp/                 sharded model + optimizer (torch.distributed.checkpoint, under torchrun)
    rng.safetensors      torch RNG state of every rank
    trainer_state.json   step, stage/data-loader state, python/numpy RNG, counters
    meta.json            resolved config, model config, tokenizer hash, world size, time
```
A step directory is written as ``.step_000100.tmp`` and renamed when complete; ``latest`` moves
only after the rename, so a crash (even SIGKILL) or a full disk mid-write leaves the previous
checkpoint and ``latest`` intact. Pickle is never used.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from compass.config import ConfigError
from compass.distributed.env import DistInfo, all_gather_object, barrier
from compass.model.io import CONFIG, LATEST, WEIGHTS, load_state_into, save_model
from compass.utils.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

STATE, META, OPTIM, RNG = (
    "trainer_state.json",
    "meta.json",
    "optimizer.safetensors",
    "rng.safetensors",
)


class CheckpointError(RuntimeError):
    """A checkpoint could not be written or read; the message says what is intact and what to do."""


def step_dir_name(step: int) -> str:
    return f"step_{step:06d}"


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The complete checkpoint ``latest`` names, or None for a fresh run directory."""
    run_dir = Path(run_dir)
    pointer = run_dir / LATEST
    if not pointer.exists():
        return None
    target = run_dir / pointer.read_text().strip()
    if not (target / META).exists():
        raise CheckpointError(
            f"{pointer} names {target.name}, which is incomplete or missing — delete {pointer} "
            "to start over, or point it at a complete step_* directory"
        )
    return target


# ---- optimizer and RNG state as tensors + JSON (no pickle) -----------------------------------
def flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"state.{pid}.{k}"] = v.detach().contiguous().cpu()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, t in tensors.items():
        _, pid, k = name.split(".", 2)
        state.setdefault(int(pid), {})[k] = t
    for name, v in meta["scalars"].items():
        pid, k = name.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    return {"state": state, "param_groups": meta["param_groups"]}


def _rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda{i}"] = s
    py = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return tensors, {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [name, keys.tolist(), pos, has_gauss, cached],
    }


def _set_rng_state(tensors: dict[str, torch.Tensor], other: dict) -> None:
    torch.set_rng_state(tensors["cpu"])
    if torch.cuda.is_available() and "cuda0" in tensors:
        torch.cuda.set_rng_state_all(
            [tensors[f"cuda{i}"] for i in range(torch.cuda.device_count())]
        )
    v, keys, g = other["python"]
    random.setstate((v, tuple(keys), g))
    name, keys, pos, has_gauss, cached = other["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def _fsync_tree(path: Path) -> None:
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- save ----------------------------------------------------------------------------------
def _write_files(tmp: Path, model, optim, state: dict, meta: dict, info: DistInfo) -> None:
    rng_tensors, rng_other = _rng_state()
    all_rng = all_gather_object(rng_tensors, info)
    if info.distributed:
        from compass.distributed.checkpoint import full_model_state, save_sharded

        save_sharded(model, optim, tmp)
        full = full_model_state(model)
        if info.is_main:
            _save_full_weights(full, model.config, tmp)
    else:
        save_model(model, tmp)
        tensors, optim_meta = flatten_optimizer(optim.state_dict())
        save_file(tensors, str(tmp / OPTIM))
        state = {**state, "optimizer": optim_meta}
    if info.is_main:
        rng_flat = {f"rank{r}.{k}": v for r, d in enumerate(all_rng) for k, v in d.items()}
        save_file(rng_flat, str(tmp / RNG))
        atomic_write_json(tmp / STATE, {**state, "rng": rng_other, "world_size": info.world_size})
        atomic_write_json(tmp / META, meta)  # written last: its presence marks completeness


def _save_full_weights(state: dict[str, torch.Tensor], config, out: Path) -> None:
    """What ``save_model`` writes, from a gathered state dict (works for any wrapped model)."""
    state = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    if config.tie_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(out / WEIGHTS), metadata={"format": "pt", "producer": "compass"})
    atomic_write_json(out / CONFIG, config.to_dict())


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    model,
    optim: torch.optim.Optimizer,
    state: dict[str, Any],
    meta: dict[str, Any],
    keep_last: int,
    info: DistInfo | None = None,
) -> Path:
    """Write ``run_dir/step_{step}`` atomically, move ``latest`` to it, prune old ones."""
    info = info or DistInfo()
    run_dir = Path(run_dir)
    final = run_dir / step_dir_name(step)
    tmp = run_dir / f".{final.name}.tmp"
    if info.is_main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    barrier(info)
    try:
        _write_files(tmp, model, optim, state, {**meta, "step": step}, info)
        barrier(info)
        if info.is_main:
            _fsync_tree(tmp)
            _publish(run_dir, tmp, final)
    except OSError as e:
        if info.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
        prev = latest_checkpoint(run_dir)
        raise CheckpointError(
            f"could not write checkpoint {final} ({e}); the previous checkpoint "
            f"{prev if prev else '(none)'} and {run_dir / LATEST} are intact — free disk space "
            "(or lower train.keep_last) and resume with the same command"
        ) from e
    barrier(info)
    if info.is_main:
        _prune(run_dir, keep_last, keep=final.name)
    return final


def _publish(run_dir: Path, tmp: Path, final: Path) -> None:
    if final.exists():  # re-saving a step after a resume: replace the old copy
        old = run_dir / f".{final.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    atomic_write_text(run_dir / LATEST, final.name + "\n")


def _prune(run_dir: Path, keep_last: int, keep: str) -> None:
    steps = sorted(p for p in run_dir.glob("step_*") if p.is_dir() and (p / META).exists())
    for old in steps[:-keep_last]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


# ---- load ----------------------------------------------------------------------------------
def check_architecture(ckpt: Path, config) -> None:
    saved = json.loads((ckpt / "model_config.json").read_text())
    current = config.to_dict()
    diff = [k for k in current if k in saved and saved[k] != current[k] and k != "expert_impl"]
    if diff:
        pairs = ", ".join(f"model.{k}: checkpoint {saved[k]!r} vs run {current[k]!r}" for k in diff)
        raise ConfigError(
            f"{ckpt}: checkpoint comes from a different architecture ({pairs}) — resume with the "
            "recipe it was trained with, or use a new output directory"
        )


def load_checkpoint(ckpt: Path, model, optim, info: DistInfo | None = None) -> dict[str, Any]:
    """Restore model, optimizer and RNG from ``ckpt`` in place; returns the trainer state."""
    info = info or DistInfo()
    check_architecture(ckpt, model.config)
    state = json.loads((ckpt / STATE).read_text())
    if info.distributed:
        from compass.distributed.checkpoint import load_sharded

        if not (ckpt / "dcp").exists():
            raise CheckpointError(f"{ckpt}: no dcp/ directory — it was saved by one process")
        load_sharded(model, optim, ckpt)
    else:
        load_state_into(model, ckpt)
        if not (ckpt / OPTIM).exists():
            raise CheckpointError(
                f"{ckpt}: no {OPTIM} — it was saved under torchrun; resume under torchrun, or "
                "start a new run from its weights with --init"
            )
        kernels = [{k: g[k] for k in ("fused", "foreach") if k in g} for g in optim.param_groups]
        optim.load_state_dict(unflatten_optimizer(load_file(str(ckpt / OPTIM)), state["optimizer"]))
        for group, kept in zip(optim.param_groups, kernels):
            group.update(kept)  # the update kernel is this process's choice, not the saver's
    rng = load_file(str(ckpt / RNG))
    mine = {k.split(".", 1)[1]: v for k, v in rng.items() if k.startswith(f"rank{info.rank}.")}
    if mine:
        _set_rng_state(mine, state["rng"])
    return state
