"""Quantized checkpoints: the model directory convention plus ``quantization_config.json``.

```
DIR/
  model.safetensors          quantized tensors (layout below) + float32 head, router, norms
  model_config.json          the float model's ModelConfig, unchanged
  quantization_config.json   method, group size, layout notes, modules kept in float
```
Tensor layout per quantized weight ``W [..., N, K]`` (``...`` = E for routed experts), under the
module's name (``layers.0.attn.q_proj.weight.*``, ``layers.0.moe.experts.gate_up_proj.*``):
- int4: ``qweight`` uint8 ``[..., N, K/2]`` (column 2j low nibble, 2j+1 high nibble),
  ``scales`` float16 ``[..., N, K/g]``, ``zeros`` uint8 ``[..., N, K/g]``; ``W ≈ (q - z)·s``;
- int8: ``qweight`` int8 ``[..., N, K]``, ``scales`` float32 ``[..., N]``; ``W ≈ q·s``;
- fp8: ``qweight`` float8_e4m3fn ``[..., N, K]``, ``scales`` float32 ``[..., N]``;
- awq-int4 adds ``input_scale`` float32 ``[..., K]``: the stored weight is ``W·diag(s)``, inputs are
  divided by it, so ``W ≈ (q - z)·s_g / input_scale``.
The embedding (``embed.weight.*``) is int8 rows when ``quantize_embedding`` is set.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from compass.config import ConfigError
from compass.model.io import CONFIG, WEIGHTS, check_state_dict, load_model, resolve_checkpoint
from compass.model.io import load_model_config as _load_model_config
from compass.model.transformer import CompassModel
from compass.quant.apply import KEPT_FLOAT, build_skeleton
from compass.quant.config import QuantConfig
from compass.utils.io import atomic_write_json

QUANT_CONFIG = "quantization_config.json"
FORMAT_VERSION = 1


def save_quantized(model: CompassModel, out_dir: str | Path) -> Path:
    cfg: QuantConfig | None = getattr(model, "quantization_config", None)
    if cfg is None:
        raise ValueError("save_quantized: the model is not quantized (run quantize_model first)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        state.pop("lm_head.weight", None)
    tmp = out / f".{WEIGHTS}.tmp"
    save_file(
        state, str(tmp), metadata={"format": "pt", "producer": "compass", "quant": cfg.method}
    )
    tmp.replace(out / WEIGHTS)
    atomic_write_json(out / CONFIG, model.config.to_dict())
    atomic_write_json(
        out / QUANT_CONFIG,
        {
            "format_version": FORMAT_VERSION,
            "quant_method": cfg.method,
            "weight_format": cfg.weight_format,
            "group_size": cfg.group_size,
            "zero_point": cfg.weight_format == "int4",
            "modules_kept_float": list(KEPT_FLOAT),
            "config": cfg.to_dict(),
        },
    )
    return out


def is_quantized(path: str | Path) -> bool:
    return (resolve_checkpoint(path) / QUANT_CONFIG).exists()


def load_quant_config(path: str | Path) -> QuantConfig:
    file = resolve_checkpoint(path) / QUANT_CONFIG
    try:
        meta = json.loads(file.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{file} is missing: {file.parent} is not a quantized checkpoint"
        ) from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{file}: format_version={meta.get('format_version')}, this code reads "
            f"{FORMAT_VERSION}; re-run `compass quantize`"
        )
    try:
        return QuantConfig.from_dict(meta["config"])
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}") from None


def load_quantized(path: str | Path, model_config=None) -> CompassModel:
    """A ready quantized ``CompassModel`` (eval mode) from a directory ``save_quantized`` wrote.

    A ``model_config`` that does not match the tensors raises an error naming the tensor and
    both shapes.
    """
    ckpt = resolve_checkpoint(path)
    qcfg = load_quant_config(ckpt)
    config = model_config or _load_model_config(ckpt)
    with torch.device("meta"):
        model = build_skeleton(CompassModel(config), qcfg)
    model = model.to_empty(device="cpu")
    state = load_file(str(ckpt / WEIGHTS))
    expected = model.state_dict()
    if config.tie_embeddings:
        expected.pop("lm_head.weight", None)
    check_state_dict(expected, state, str(ckpt / WEIGHTS))
    model.load_state_dict(state, strict=not config.tie_embeddings)
    if config.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    return model.eval()


def load_checkpoint(path: str | Path) -> CompassModel:
    """Float or quantized: whichever the directory holds (what the engine and evaluator call)."""
    return load_quantized(path) if is_quantized(path) else load_model(path)
