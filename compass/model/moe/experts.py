"""Routed SwiGLU experts over stacked ``[E, out, in]`` weights, dropless.

Tokens are sorted by expert once; three interchangeable kernels then run the experts:
- ``bmm``: scatter into a padded ``[E, C, D]`` buffer (C = the busiest expert's load) and use two
  batched matmuls. Fastest on CPU while the load is near-balanced (see bench/moe_block.py).
- ``grouped_mm``: ``torch._grouped_mm`` over the sorted rows with expert offsets; no padding, so it
  wins when the load is skewed. Needs 16-byte-aligned dims.
- ``loop``: one expert at a time; the plain reference the others are tested against.
``auto`` picks bmm unless padding would more than double the work.

Legend: N tokens, k experts per token, A = N·k assignments, E experts, C capacity, D model dim,
I expert dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_HAS_GROUPED_MM = hasattr(torch, "_grouped_mm")


class RoutedExperts(nn.Module):
    def __init__(self, n_experts: int, d_model: int, expert_dim: int, impl: str = "auto"):
        super().__init__()
        self.n_experts, self.d_model, self.expert_dim, self.impl = (
            n_experts,
            d_model,
            expert_dim,
            impl,
        )
        # Same layout as transformers' Qwen2MoeExperts: gate rows first, then up rows.
        self.gate_up_proj = nn.Parameter(torch.empty(n_experts, 2 * expert_dim, d_model))
        self.down_proj = nn.Parameter(torch.empty(n_experts, d_model, expert_dim))

    def forward(
        self, x_ND: torch.Tensor, weights_Nk: torch.Tensor, experts_Nk: torch.Tensor
    ) -> torch.Tensor:
        k = experts_Nk.shape[1]
        flat_A = experts_Nk.flatten()
        order_A = torch.argsort(flat_A, stable=True)
        expert_A = flat_A[order_A]
        token_A = order_A // k
        counts_E = torch.bincount(flat_A, minlength=self.n_experts)
        x_AD = x_ND[token_A]
        impl = self._choose(counts_E, x_AD)
        if impl == "bmm":
            y_AD = self._bmm(x_AD, expert_A, counts_E)
        elif impl == "grouped_mm":
            y_AD = self._grouped_mm(x_AD, counts_E)
        else:
            y_AD = self._loop(x_AD, counts_E)
        y_AD = y_AD * weights_Nk.flatten()[order_A, None].to(y_AD.dtype)
        return torch.zeros_like(x_ND).index_add_(0, token_A, y_AD)

    def _choose(self, counts_E: torch.Tensor, x_AD: torch.Tensor) -> str:
        if self.impl != "auto":
            return self.impl
        n_assign = x_AD.shape[0]
        if int(counts_E.max()) * self.n_experts <= 2 * max(n_assign, 1):
            return "bmm"
        align = 16 // x_AD.element_size()
        if _HAS_GROUPED_MM and self.d_model % align == 0 and self.expert_dim % align == 0:
            return "grouped_mm"
        return "loop"

    def _swiglu(self, h: torch.Tensor) -> torch.Tensor:
        gate, up = h.chunk(2, dim=-1)
        return F.silu(gate) * up

    def _loop(self, x_AD: torch.Tensor, counts_E: torch.Tensor) -> torch.Tensor:
        outs, start = [], 0
        for e, n in enumerate(counts_E.tolist()):
            if n:
                h = self._swiglu(F.linear(x_AD[start : start + n], self.gate_up_proj[e]))
                outs.append(F.linear(h, self.down_proj[e]))
            start += n
        return torch.cat(outs) if outs else x_AD.new_zeros(x_AD.shape)

    def _grouped_mm(self, x_AD: torch.Tensor, counts_E: torch.Tensor) -> torch.Tensor:
        offs_E = torch.cumsum(counts_E, 0).to(torch.int32)
        h_AI = self._swiglu(
            torch._grouped_mm(x_AD, self.gate_up_proj.transpose(-2, -1), offs=offs_E)
        )
        return torch._grouped_mm(h_AI, self.down_proj.transpose(-2, -1), offs=offs_E)

    def _bmm(
        self, x_AD: torch.Tensor, expert_A: torch.Tensor, counts_E: torch.Tensor
    ) -> torch.Tensor:
        capacity = max(int(counts_E.max()), 1)
        starts_E = torch.cumsum(counts_E, 0) - counts_E
        slot_A = torch.arange(x_AD.shape[0], device=x_AD.device) - starts_E[expert_A]
        buf_ECD = x_AD.new_zeros(self.n_experts, capacity, self.d_model)
        buf_ECD = buf_ECD.index_put((expert_A, slot_A), x_AD)
        h_ECI = self._swiglu(torch.bmm(buf_ECD, self.gate_up_proj.transpose(1, 2)))
        y_ECD = torch.bmm(h_ECI, self.down_proj.transpose(1, 2))
        return y_ECD[expert_A, slot_A]


class SharedExperts(nn.Module):
    """The always-on experts, stored as ONE SwiGLU MLP of width n_shared·I.

    Summing S SwiGLU experts equals one SwiGLU whose intermediate rows are their concatenation,
    so this is exact — and it is the shape Qwen2-MoE's single shared expert has.
    """

    def __init__(self, d_model: int, width: int):
        super().__init__()
        self.gate_proj = nn.Linear(d_model, width, bias=False)
        self.up_proj = nn.Linear(d_model, width, bias=False)
        self.down_proj = nn.Linear(width, d_model, bias=False)

    def forward(self, x_ND: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x_ND)) * self.up_proj(x_ND))
