"""AWQ with scales folded into the float model (``quant.awq_fold``): AutoAWQ's scheme.

Default AWQ here keeps one input scale per weight and divides activations by it at run time
(``weights.py``). The AutoAWQ checkpoint format that vLLM and transformers read has no such scale:
AutoAWQ instead searches ONE scale per shared input and folds it, exactly, into the float
operation that produces that input, before quantizing. This module does the same, in place, on
the float model:
- q/k/v read the attention norm: one scale over their joint output error; norm ÷ s, q/k/v ×s;
- o_proj reads attention's mix of v rows: v rows ÷ s, o_proj ×s, when every query head has its
  own KV head (with GQA a query-head scale has no per-KV-row form; AutoAWQ skips it too);
- the router, shared MLP and every routed expert read the MoE norm: one scale over the shared
  gate/up and all experts' gate/up; norm ÷ s, router ×s (it stays float: exact), gate/up ×s;
- each down projection reads ``silu(gate)·up``: up rows ÷ s, down ×s (per expert, and shared).
The model computes the same function (up to float rounding), no quantized weight carries an input
scale, and ``compass export hf`` writes every weight code for code. Each search is AWQ's grid
search (``awq.search_scale``) on the captured calibration rows, which are rescaled with their
fold so the clipping search that follows sees the inputs the quantized weights will get.

Legend: N output channels, K input channels, M calibration rows, E experts, I expert dim.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from compass.quant.awq import ActivationCapture, expert_hidden, search_scale

FakeQuant = Callable[[torch.Tensor], torch.Tensor]


def _rescale_rows(cap: ActivationCapture, key: str, s_K: torch.Tensor) -> None:
    """Captured inputs of ``key`` after the fold: divided by ``s``."""
    if key in cap.rows:
        cap.rows[key] = [x / s_K for x in cap.rows[key]]


def _search(
    w_NK: torch.Tensor, x_MK: torch.Tensor | None, fq: FakeQuant, grid: int, name: str, stats: dict
) -> torch.Tensor | None:
    if x_MK is None or x_MK.shape[0] == 0:
        stats[name] = {"alpha": None, "rows": 0}
        return None
    r = search_scale(w_NK, x_MK, fq, grid)
    stats[name] = {"alpha": r.alpha, "err": r.err, "err_rtn": r.err_rtn, "rows": x_MK.shape[0]}
    return None if r.alpha == 0 else r.scale_K


@torch.no_grad()
def _fold_attention(
    layer: nn.Module, name: str, cap: ActivationCapture, fq: FakeQuant, grid: int, stats: dict
) -> None:
    a = layer.attn
    qkv = [a.q_proj, a.k_proj, a.v_proj]
    x = cap.get(f"{name}.attn.q_proj")  # q, k and v read the same rows
    w = torch.cat([lin.weight.float() for lin in qkv])
    s = _search(w, x, fq, grid, f"{name}.attn.qkv", stats)
    if s is not None:
        layer.attn_norm.weight.div_(s)
        for lin, proj in zip(qkv, "qkv", strict=True):
            lin.weight.mul_(s)
            _rescale_rows(cap, f"{name}.attn.{proj}_proj", s)
    if a.n_heads != a.n_kv_heads:
        return
    key = f"{name}.attn.o_proj"
    s = _search(a.o_proj.weight.float(), cap.get(key), fq, grid, key, stats)
    if s is not None:
        a.v_proj.weight.div_(s[:, None])
        a.o_proj.weight.mul_(s)
        _rescale_rows(cap, key, s)


@torch.no_grad()
def _fold_moe(
    layer: nn.Module, name: str, cap: ActivationCapture, fq: FakeQuant, grid: int, stats: dict
) -> None:
    moe, n_exp = layer.moe, layer.moe.experts.gate_up_proj.shape[0]
    expert_keys = [f"{name}.moe.experts/{e}" for e in range(n_exp)]
    # The shared MLP sees every token of the MoE input: the rows the router and all experts read.
    x = cap.get(f"{name}.moe.shared") if moe.shared is not None else None
    if x is None:
        rows = [r for r in (cap.get(k) for k in expert_keys) if r is not None]
        x = torch.cat(rows)[: cap.max_rows] if rows else None
    gate_up = moe.experts.gate_up_proj
    ws = [gate_up.flatten(0, 1)]
    if moe.shared is not None:
        ws += [moe.shared.gate_proj.weight, moe.shared.up_proj.weight]
    s = _search(torch.cat(ws).float(), x, fq, grid, f"{name}.moe.gate_up", stats)
    if s is not None:
        layer.moe_norm.weight.div_(s)
        moe.router.weight.mul_(s)
        gate_up.mul_(s)
        if moe.shared is not None:
            moe.shared.gate_proj.weight.mul_(s)
            moe.shared.up_proj.weight.mul_(s)
        for key in [*expert_keys, f"{name}.moe.shared"]:
            _rescale_rows(cap, key, s)
    inner = gate_up.shape[1] // 2
    for e, key in enumerate(expert_keys):
        xe = cap.get(key)
        h = expert_hidden(gate_up[e].float(), xe) if xe is not None else None
        s = _search(moe.experts.down_proj[e].float(), h, fq, grid, f"{key}.down_proj", stats)
        if s is not None:
            gate_up[e, inner:].div_(s[:, None])
            moe.experts.down_proj[e].mul_(s)
    if moe.shared is not None:
        sh, xs = moe.shared, cap.get(f"{name}.moe.shared")
        gu = torch.cat([sh.gate_proj.weight, sh.up_proj.weight]).float()
        h = expert_hidden(gu, xs) if xs is not None else None
        s = _search(sh.down_proj.weight.float(), h, fq, grid, f"{name}.moe.shared.down", stats)
        if s is not None:
            sh.up_proj.weight.div_(s[:, None])
            sh.down_proj.weight.mul_(s)


def fold_awq_scales(
    model: nn.Module, cap: ActivationCapture, fake_quant: FakeQuant, grid: int, stats: dict
) -> None:
    """Search AutoAWQ-style shared scales and fold them into ``model``'s float weights, in place;
    ``cap``'s rows are rescaled to match. Per-search results go into ``stats``."""
    for i, layer in enumerate(model.layers):
        _fold_attention(layer, f"layers.{i}", cap, fake_quant, grid, stats)
        _fold_moe(layer, f"layers.{i}", cap, fake_quant, grid, stats)
