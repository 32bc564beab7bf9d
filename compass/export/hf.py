"""Export a Compass checkpoint to a Hugging Face Qwen2-MoE directory, and import one back.

``export_hf(ckpt, out)`` writes what ``transformers.AutoModelForCausalLM.from_pretrained(out)``,
vLLM and llama.cpp's converter load with no custom code: safetensors (sharded with an index past
``max_shard_bytes``), ``config.json``, ``generation_config.json`` and the tokenizer files when the
checkpoint has them. ``import_hf(hf_dir, out)`` is its exact inverse (see ``hf_mapping.py``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from safetensors import safe_open

from compass.config import ConfigError
from compass.export.hf_mapping import (
    check_shapes,
    from_hf_config,
    from_hf_tensors,
    fused_hf_shapes,
    hf_shapes,
    to_hf_config,
    to_hf_tensors,
)
from compass.export.safetensors_dir import DEFAULT_SHARD_BYTES, ShardedReader, write_sharded
from compass.export.tokenizer_files import copy_tokenizer, find_tokenizer, special_token_ids
from compass.model.io import (
    WEIGHTS,
    check_state_dict,
    load_model_config,
    resolve_checkpoint,
    save_model,
)
from compass.model.transformer import CompassModel
from compass.quant.io import is_quantized
from compass.utils.io import atomic_write_json
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _meta_model(cfg) -> CompassModel:
    with torch.device("meta"):
        return CompassModel(cfg)


def _expected_state(model: CompassModel) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    if model.config.tie_embeddings:
        state.pop("lm_head.weight", None)
    return state


def export_hf(
    ckpt: str | Path,
    out_dir: str | Path,
    dtype: str | None = None,
    tokenizer: str | Path | None = None,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> Path:
    """Write the Qwen2-MoE directory for checkpoint ``ckpt`` (a checkpoint or run directory).

    ``dtype``: float32 / bfloat16 / float16, or None to keep the stored dtype. ``tokenizer``:
    a directory of HF tokenizer files; by default the checkpoint's own is found (tokenizer_files).
    A quantized INT4 checkpoint (awq-int4 / rtn-int4) is written in AutoAWQ's layout, its float
    tensors in ``dtype`` or float16 (see ``awq.py``).
    """
    t0 = time.time()
    src = Path(ckpt)
    ckpt_dir = resolve_checkpoint(src)
    cfg = load_model_config(ckpt_dir)
    weights = ckpt_dir / WEIGHTS
    out = Path(out_dir)
    if out.resolve() == ckpt_dir.resolve():
        raise ConfigError(f"--out {out} is the checkpoint itself; choose another directory")
    out.mkdir(parents=True, exist_ok=True)
    if is_quantized(ckpt_dir):
        from compass.export.awq import write_awq_weights

        target = _DTYPES[dtype or "float16"]
        hf_config, metrics = write_awq_weights(ckpt_dir, out, target, max_shard_bytes)
    else:
        hf_config, metrics = _write_float_weights(cfg, weights, out, dtype, max_shard_bytes)
    tok_dir = (
        Path(tokenizer) if tokenizer else find_tokenizer(ckpt_dir, src if src != ckpt_dir else None)
    )
    copied, ids = [], {}
    if tok_dir is not None:
        copied = copy_tokenizer(tok_dir, out)
        ids = special_token_ids(out)
    else:
        log.warning("no tokenizer found for %s: exporting weights only", ckpt_dir)
    atomic_write_json(out / "config.json", {**hf_config, **ids})
    atomic_write_json(out / "generation_config.json", {"_from_model_config": False, **ids})
    metrics["tokenizer_files"] = copied
    write_manifest(
        out,
        "export.hf",
        cfg.to_dict(),
        inputs={"checkpoint": ckpt_dir},
        metrics=metrics,
        wall_time_s=time.time() - t0,
    )
    log.info(
        "exported %s -> %s (%d weight file(s), tokenizer: %s)",
        ckpt_dir,
        out,
        metrics["weight_files"],
        ", ".join(copied) or "none",
    )
    return out


def _write_float_weights(
    cfg, weights: Path, out: Path, dtype: str | None, max_shard_bytes: int
) -> tuple[dict, dict]:
    with safe_open(str(weights), framework="pt") as f:
        names = f.keys()  # safe_open handles are not iterable
        got = {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in names}
        check_state_dict(_expected_state(_meta_model(cfg)), got, str(weights))
        stored = f.get_tensor(names[0]).dtype
        target = _DTYPES[dtype] if dtype else stored
        hf_config = to_hf_config(cfg, target)

        def get(name: str) -> torch.Tensor:
            return f.get_tensor(name).to(target)

        n = len(hf_shapes(cfg))
        files = write_sharded(to_hf_tensors(cfg, get), out, max_shard_bytes, total=n)
    return hf_config, {"weight_files": len(files), "tensors": n}


_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)  # buffers some older exports carry


def _read_hf_config(hf_dir: Path):
    cfg_file = hf_dir / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{hf_dir}: no config.json — pass a Hugging Face model directory")
    return from_hf_config(json.loads(cfg_file.read_text()), str(cfg_file))


def import_hf(hf_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the Compass checkpoint (model.safetensors + model_config.json) of a Qwen2-MoE dir."""
    t0 = time.time()
    src = Path(hf_dir)
    if Path(out_dir).resolve() == src.resolve():
        raise ConfigError(f"--out {out_dir} is the Hugging Face directory itself; choose another")
    cfg = _read_hf_config(src)
    with ShardedReader(src) as reader:
        shapes = reader.shapes()
        fused = "model.layers.0.mlp.experts.gate_up_proj" in shapes
        expected = fused_hf_shapes(cfg) if fused else hf_shapes(cfg)
        check_shapes(expected, shapes, str(src))
        extra = [
            k
            for k in shapes
            if k not in expected
            and not k.endswith(_IGNORED_SUFFIXES)
            and not (cfg.tie_embeddings and k == "lm_head.weight")
        ]
        if extra:
            raise ConfigError(
                f"{src}: tensors with no place in the Compass model: {extra[:5]} — not a plain "
                "Qwen2-MoE checkpoint"
            )
        state = dict(from_hf_tensors(cfg, reader.get, fused))
    model = _meta_model(cfg)
    check_state_dict(_expected_state(model), state, str(src))
    model.load_state_dict(state, strict=not cfg.tie_embeddings, assign=True)
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    out = save_model(model, out_dir)
    copied = copy_tokenizer(src, out / "tokenizer") if _has_tokenizer(src) else []
    write_manifest(
        out,
        "import.hf",
        cfg.to_dict(),
        inputs={"hf": src},
        metrics={"fused_experts": fused, "tokenizer_files": copied},
        wall_time_s=time.time() - t0,
    )
    log.info("imported %s -> %s", src, out)
    return out


def _has_tokenizer(d: Path) -> bool:
    return (d / "tokenizer.json").is_file() or (d / "tokenizer.model").is_file()
