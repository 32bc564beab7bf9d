"""Hugging Face style weight directories: one ``model.safetensors`` or shards plus an index.

Writing streams tensors into shards of at most ``max_shard_bytes`` (a tensor larger than that gets
a shard of its own), so exporting a 30B model needs one shard of memory, not the whole model.
Reading opens every shard lazily and loads a tensor only when asked for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from compass.utils.io import atomic_write_json
from compass.utils.progress import progress_bar

SINGLE = "model.safetensors"
INDEX = "model.safetensors.index.json"
DEFAULT_SHARD_BYTES = 5 * 1024**3  # what transformers' save_pretrained uses


def write_sharded(
    tensors: Iterable[tuple[str, torch.Tensor]],
    out_dir: str | Path,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    total: int | None = None,
) -> list[Path]:
    """Write (name, tensor) pairs as HF shards; returns the weight files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Weights of an earlier export into the same directory would be loaded alongside (or instead).
    for stale in [*out.glob("model*.safetensors"), out / INDEX]:
        stale.unlink(missing_ok=True)
    shards: list[list[str]] = []
    tmp_files: list[Path] = []
    current: dict[str, torch.Tensor] = {}
    size = total_size = 0

    def flush() -> None:
        nonlocal current, size
        if not current:
            return
        tmp = out / f".shard-{len(tmp_files):05d}.tmp"
        save_file(current, str(tmp), metadata={"format": "pt"})
        tmp_files.append(tmp)
        shards.append(list(current))
        current, size = {}, 0

    for name, t in progress_bar(
        tensors, total=total, desc="write weights", unit="tensor", leave=False
    ):
        nbytes = t.numel() * t.element_size()
        if current and size + nbytes > max_shard_bytes:
            flush()
        current[name] = t.detach().contiguous().cpu()
        size += nbytes
        total_size += nbytes
    flush()
    if len(tmp_files) == 1:
        tmp_files[0].replace(out / SINGLE)
        return [out / SINGLE]
    n = len(tmp_files)
    files, weight_map = [], {}
    for i, (tmp, names) in enumerate(zip(tmp_files, shards), start=1):
        final = out / f"model-{i:05d}-of-{n:05d}.safetensors"
        tmp.replace(final)
        files.append(final)
        weight_map.update(dict.fromkeys(names, final.name))
    atomic_write_json(
        out / INDEX, {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    )
    return files


class ShardedReader:
    """Lazy access to the tensors of a HF weight directory (single file or sharded)."""

    def __init__(self, hf_dir: str | Path):
        self.dir = Path(hf_dir)
        if (self.dir / INDEX).exists():
            weight_map = json.loads((self.dir / INDEX).read_text())["weight_map"]
            files = sorted(set(weight_map.values()))
        elif (self.dir / SINGLE).exists():
            files = [SINGLE]
        else:
            raise FileNotFoundError(
                f"{self.dir}: neither {SINGLE} nor {INDEX} — pass a Hugging Face model directory"
            )
        self._stack = ExitStack()
        self._handles = {}
        self.location: dict[str, str] = {}
        for f in files:
            h = self._stack.enter_context(safe_open(str(self.dir / f), framework="pt"))
            self._handles[f] = h
            self.location.update(dict.fromkeys(h.keys(), f))

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            k: tuple(self._handles[f].get_slice(k).get_shape()) for k, f in self.location.items()
        }

    def get(self, name: str) -> torch.Tensor:
        return self._handles[self.location[name]].get_tensor(name)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> ShardedReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
