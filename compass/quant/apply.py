"""Turn a float ``CompassModel`` into a quantized one, in place (report §6.3).

Quantized: attention q/k/v/o, the shared-expert MLP, the routed experts' stacked weights, and
(optionally) the input embedding as INT8 rows. Kept in float32: the LM head, the MoE router and
the norms. The same module walk builds an empty quantized skeleton when loading from disk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from compass.model.transformer import CompassModel
from compass.quant import int4
from compass.quant.awq import ActivationCapture, expert_hidden, search_clip, search_scale
from compass.quant.awq_fold import fold_awq_scales
from compass.quant.config import QuantConfig
from compass.quant.modules import (
    QuantEmbedding,
    QuantLinear,
    QuantRoutedExperts,
    QuantSharedExperts,
)
from compass.quant.weights import WEIGHT_TYPES, Int8Weight, QuantWeight
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)

LINEARS = ("attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj")
# Never quantized (report §6.3): recorded in quantization_config.json for readers.
KEPT_FLOAT = ("lm_head", "router", "norm")


@dataclass
class Target:
    name: str  # dotted module path, e.g. layers.0.attn.q_proj
    parent: nn.Module
    attr: str
    kind: str  # linear | shared | experts


def targets(model: CompassModel) -> Iterator[Target]:
    for i, layer in enumerate(model.layers):
        for rel in LINEARS:
            attr = rel.split(".")[1]
            yield Target(f"layers.{i}.{rel}", layer.attn, attr, "linear")
        # The whole shared MLP is replaced, so its forward never depends on the float module's.
        if layer.moe.shared is not None:
            yield Target(f"layers.{i}.moe.shared", layer.moe, "shared", "shared")
        yield Target(f"layers.{i}.moe.experts", layer.moe, "experts", "experts")


def _fake_quant(cfg: QuantConfig):
    def fq(w: torch.Tensor) -> torch.Tensor:
        return int4.dequantize_int4(int4.quantize_int4(w, cfg.group_size))

    return fq


@torch.no_grad()
def capture_activations(
    model: CompassModel, calib_ids: torch.Tensor, cfg: QuantConfig
) -> ActivationCapture:
    cap = ActivationCapture(cfg.calib_max_rows)
    for t in targets(model):
        mod = getattr(t.parent, t.attr)
        (cap.add_experts if t.kind == "experts" else cap.add_linear)(t.name, mod)
    model.eval()
    try:
        for b in progress_bar(
            range(0, len(calib_ids), cfg.calib_batch_size), desc="calibrate", leave=False
        ):
            model(calib_ids[b : b + cfg.calib_batch_size])
    finally:
        cap.remove()
    return cap


def _awq(
    w_NK: torch.Tensor, x_MK: torch.Tensor | None, cfg: QuantConfig, name: str, stats: dict
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """AWQ for one weight: (the weight to quantize, possibly range-clipped; its input scale,
    None when ``awq_fold`` already folded the scales into the float model)."""
    if x_MK is None or x_MK.shape[0] == 0:
        stats.setdefault(name, {"alpha": None, "rows": 0})
        return w_NK, None if cfg.awq_fold else torch.ones(w_NK.shape[-1])
    fq = _fake_quant(cfg)
    if cfg.awq_fold:
        if not cfg.awq_clip:
            return w_NK, None
        group = int4.effective_group_size(w_NK.shape[-1], cfg.group_size)
        return search_clip(w_NK, x_MK, fq, group, cfg.awq_grid), None
    r = search_scale(w_NK, x_MK, fq, cfg.awq_grid)
    stats[name] = {"alpha": r.alpha, "err": r.err, "err_rtn": r.err_rtn, "rows": x_MK.shape[0]}
    if not cfg.awq_clip:
        return w_NK, r.scale_K
    group = int4.effective_group_size(w_NK.shape[-1], cfg.group_size)
    w_s = search_clip(w_NK * r.scale_K, x_MK / r.scale_K, fq, group, cfg.awq_grid)
    err = (x_MK / r.scale_K @ (fq(w_s) - w_NK * r.scale_K).t()).pow(2).mean()
    stats[name]["err"] = float(err)
    return w_s / r.scale_K, r.scale_K


def _quantize_linear(
    w_NK: torch.Tensor, name: str, cfg: QuantConfig, x_MK: torch.Tensor | None, stats: dict
) -> QuantWeight:
    cls = WEIGHT_TYPES[cfg.weight_format]
    scale = None
    if cfg.method == "awq-int4":
        w_NK, scale = _awq(w_NK, x_MK, cfg, name, stats)
    return cls.from_float(w_NK, cfg.group_size, scale)


def _quantize_shared(
    shared: nn.Module, name: str, cfg: QuantConfig, cap: ActivationCapture | None, stats: dict
) -> QuantSharedExperts:
    gate, up = shared.gate_proj.weight.detach().float(), shared.up_proj.weight.detach().float()
    down = shared.down_proj.weight.detach().float()
    x = cap.get(name) if cap else None
    h = expert_hidden(torch.cat([gate, up]), x) if x is not None else None
    return QuantSharedExperts(
        _quantize_linear(gate, f"{name}.gate_proj", cfg, x, stats),
        _quantize_linear(up, f"{name}.up_proj", cfg, x, stats),
        _quantize_linear(down, f"{name}.down_proj", cfg, h, stats),
    )


def _quantize_experts(
    experts: nn.Module, name: str, cfg: QuantConfig, cap: ActivationCapture | None, stats: dict
) -> QuantRoutedExperts:
    cls = WEIGHT_TYPES[cfg.weight_format]
    gate_up, down = experts.gate_up_proj.detach().float(), experts.down_proj.detach().float()
    if cfg.method != "awq-int4":
        return QuantRoutedExperts(
            cls.from_float(gate_up, cfg.group_size), cls.from_float(down, cfg.group_size)
        )
    gu, dn = [], []  # per expert: (weight to quantize, input scale)
    for e in range(gate_up.shape[0]):
        x = cap.get(f"{name}/{e}") if cap else None
        gu.append(_awq(gate_up[e], x, cfg, f"{name}.{e}.gate_up_proj", stats))
        h = expert_hidden(gate_up[e], x) if x is not None else None
        dn.append(_awq(down[e], h, cfg, f"{name}.{e}.down_proj", stats))

    def stack_scales(pairs: list) -> torch.Tensor | None:
        return None if cfg.awq_fold else torch.stack([s for _, s in pairs])

    return QuantRoutedExperts(
        cls.from_float(torch.stack([w for w, _ in gu]), cfg.group_size, stack_scales(gu)),
        cls.from_float(torch.stack([w for w, _ in dn]), cfg.group_size, stack_scales(dn)),
    )


@torch.no_grad()
def quantize_model(
    model: CompassModel,
    cfg: QuantConfig,
    calib_ids: torch.Tensor | None = None,
    stats: dict | None = None,
) -> CompassModel:
    """Quantize ``model`` in place; AWQ needs ``calib_ids [n, T]``. Per-weight AWQ results
    (alpha, output error vs round-to-nearest) go into ``stats`` when given."""
    cfg.validate()
    stats = {} if stats is None else stats
    cap = None
    if cfg.method == "awq-int4":
        if calib_ids is None:
            raise ValueError("quant.method=awq-int4 needs calibration tokens (--calib DATA)")
        cap = capture_activations(model, calib_ids, cfg)
        if cfg.awq_fold:
            fold_awq_scales(model, cap, _fake_quant(cfg), cfg.awq_grid, stats)
    for t in progress_bar(list(targets(model)), desc=f"quantize {cfg.method}", leave=False):
        mod = getattr(t.parent, t.attr)
        if t.kind == "experts":
            new = _quantize_experts(mod, t.name, cfg, cap, stats)
        elif t.kind == "shared":
            new = _quantize_shared(mod, t.name, cfg, cap, stats)
        else:
            x = cap.get(t.name) if cap else None
            new = QuantLinear(_quantize_linear(mod.weight.detach(), t.name, cfg, x, stats))
        setattr(t.parent, t.attr, new)
    if cfg.quantize_embedding and not model.config.tie_embeddings:
        model.embed = QuantEmbedding(Int8Weight.from_float(model.embed.weight.detach()))
    model.quantization_config = cfg
    return model


def build_skeleton(model: CompassModel, cfg: QuantConfig) -> CompassModel:
    """Replace the quantizable modules of a (meta or float) model with empty quantized ones of
    the right shapes, ready for ``load_state_dict``."""
    cls = WEIGHT_TYPES[cfg.weight_format]
    awq = cfg.method == "awq-int4" and not cfg.awq_fold  # folded scales leave no input_scale
    for t in targets(model):
        mod = getattr(t.parent, t.attr)
        if t.kind == "experts":
            gu, dn = tuple(mod.gate_up_proj.shape), tuple(mod.down_proj.shape)
            new = QuantRoutedExperts(cls(gu, cfg.group_size, awq), cls(dn, cfg.group_size, awq))
        elif t.kind == "shared":
            shapes = [
                tuple(lin.weight.shape) for lin in (mod.gate_proj, mod.up_proj, mod.down_proj)
            ]
            new = QuantSharedExperts(*(cls(s, cfg.group_size, awq) for s in shapes))
        else:
            new = QuantLinear(cls(tuple(mod.weight.shape), cfg.group_size, awq))
        setattr(t.parent, t.attr, new)
    if cfg.quantize_embedding and not model.config.tie_embeddings:
        model.embed = QuantEmbedding(Int8Weight(tuple(model.embed.weight.shape)))
    model.quantization_config = cfg
    return model


@torch.no_grad()
def dequantized_model(q: CompassModel) -> CompassModel:
    """A float ``CompassModel`` computing with ``q``'s dequantized weights: what the quantized
    model's arithmetic amounts to, for comparing exports and kernels against it."""
    f = CompassModel(q.config)
    state = {k: v for k, v in q.state_dict().items() if k in f.state_dict()}  # norms, router, head
    for name, mod in q.named_modules():
        if isinstance(getattr(mod, "weight", None), QuantWeight):
            state[f"{name}.weight"] = mod.weight.dequantize()
    for i, layer in enumerate(q.layers):
        for part in ("gate_up_proj", "down_proj"):
            state[f"layers.{i}.moe.experts.{part}"] = getattr(layer.moe.experts, part).dequantize()
    state["embed.weight"] = q.embed(torch.arange(q.config.vocab_size))
    f.load_state_dict(state)
    return f.eval()
