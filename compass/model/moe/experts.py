"""Routed SwiGLU experts over stacked ``[E, out, in]`` weights, dropless.

Tokens are sorted by expert once (``dispatch.py``) and three interchangeable kernels run them; a
fourth path skips the sort when there are only a few rows:
- ``bmm``: gather rows straight into a padded ``[E, C, D]`` buffer (C = the busiest expert's
  load) and use two batched matmuls.
- ``grouped_mm``: ``torch._grouped_mm`` over the sorted rows with expert offsets; no padding, so it
  wins when the load is skewed. Needs 16-byte-aligned dims.
- ``loop``: one expert at a time with plain indexing; the reference the others are tested against.
- ``rows`` (inside ``auto`` and ``measure``): each token's k experts one by one on weight views.
  A CPU decode step at low concurrency has a handful of rows, where the other kernels' per-expert
  and bookkeeping overhead is the whole cost (grouped_mm on the CPU runs a GEMM per expert, empty
  or not: 19% of a tiny c = 1 decode step).
``auto`` picks rows for a no-grad CPU step with fewer assignments than half the experts;
grouped_mm for a CPU step with gradients (fwd+bwd measured 0.86-0.92x bmm's time on the tiny
SFT, pretraining and DPO steps, bench/expert_kernel.py, and ahead on an AVX2 machine too,
FINDINGS.md); else bmm unless padding would more than double its work (then grouped_mm). It is
a fixed rule so that a run's floats never depend on timing: bmm and grouped_mm sum their GEMMs
over different row counts (C vs each expert's load) and can round differently. ``measure`` is
``auto`` with the CPU choice timed instead, once per shape and process (``kernel_choice.py``):
bmm while its balanced-load time × this call's padding (E·C / A) stays below grouped_mm's. The
loop runs when grouped_mm cannot and padding would more than double the bmm's work. The fast
paths move rows with gathers only and combine the k outputs of a token with one batched
product; on a loaded 2-core CPU every extra pass over the activations shows
(bench/moe_block.py, results/moe_block.md).

Legend: N tokens, k experts per token, A = N·k assignments, E experts, C capacity, D model dim,
I expert dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.model.moe import kernel_choice
from compass.model.moe.dispatch import Dispatch, from_experts, to_experts
from compass.model.moe.swiglu import swiglu

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
        N, k = experts_Nk.shape
        if self._few_rows(x_ND, N * k):
            return self._rows(x_ND, weights_Nk, experts_Nk)
        plan = Dispatch.build(experts_Nk, self.n_experts)
        dt = _matmul_dtype(x_ND)
        impl = self._choose(plan.counts_E, N, k, dt, x_ND.device.type)
        if impl == "loop" or N == 0:  # the padded path has no token 0 to park empty slots on
            return self._loop(x_ND, weights_Nk, plan, k)
        y_AD = self._bmm(x_ND, plan, k) if impl == "bmm" else self._grouped_mm(x_ND, plan, k, dt)
        # Σ_j w_nj · y_nj as one batched [1, k] @ [k, D] product: one pass instead of mul + sum.
        w_N1k = weights_Nk.to(y_AD.dtype).unsqueeze(1)
        return torch.bmm(w_N1k, y_AD.view(N, k, -1)).squeeze(1)

    def _few_rows(self, x_ND: torch.Tensor, n_assign: int) -> bool:
        """``auto``/``measure`` on a no-grad CPU step, fewer assignments than half the experts."""
        return (
            self.impl in ("auto", "measure")
            and 0 < 2 * n_assign <= self.n_experts
            and not torch.is_grad_enabled()
            and x_ND.device.type == "cpu"
        )

    def _rows(
        self, x_ND: torch.Tensor, weights_Nk: torch.Tensor, experts_Nk: torch.Tensor
    ) -> torch.Tensor:
        """Σ_j w_nj · expert_{e_nj}(x_n), token by token; two GEMVs per assignment."""
        out = []
        for n, (es, ws) in enumerate(zip(experts_Nk.tolist(), weights_Nk.tolist())):
            x_1D, y_1D = x_ND[n : n + 1], None
            for e, w in zip(es, ws):
                h = self._swiglu(F.linear(x_1D, self.gate_up_proj[e]))
                term = F.linear(h, self.down_proj[e]) * w
                y_1D = term if y_1D is None else y_1D + term
            out.append(y_1D)
        return torch.cat(out)

    def _choose(
        self, counts_E: torch.Tensor, n_tokens: int, k: int, dtype: torch.dtype, dev: str
    ) -> str:
        if self.impl not in ("auto", "measure"):
            return self.impl
        align = 16 // dtype.itemsize
        # CUDA's grouped GEMM is a bf16 kernel (Hopper); the CPU build takes float32 as well.
        kernel = _HAS_GROUPED_MM and (dev == "cpu" or dtype == torch.bfloat16)
        grouped_ok = kernel and self.d_model % align == 0 and self.expert_dim % align == 0
        padding = int(counts_E.max()) * self.n_experts / max(n_tokens * k, 1)  # bmm's E·C / A
        if not grouped_ok:
            return "loop" if padding > 2 else "bmm"
        if dev == "cpu" and self.impl == "measure":
            times = self._measured(n_tokens, k, dtype)
            return "bmm" if times["bmm"] * padding <= times["grouped_mm"] else "grouped_mm"
        if dev == "cpu" and torch.is_grad_enabled():
            return "grouped_mm"
        return "grouped_mm" if padding > 2 else "bmm"

    def _measured(self, n_tokens: int, k: int, dtype: torch.dtype) -> dict[str, float]:
        """Both kernels' times at this shape on this CPU, balanced load, timed once per process."""
        grad = torch.is_grad_enabled()
        size = kernel_choice.bucket(n_tokens)
        key = (
            self.n_experts,
            self.d_model,
            self.expert_dim,
            size,
            k,
            dtype,
            grad,
            torch.get_num_threads(),
        )
        return kernel_choice.measured_times(key, lambda: self._trials(size, k, dtype, grad))

    def _trials(self, n_tokens: int, k: int, dtype: torch.dtype, grad: bool) -> dict:
        """One forward (+ backward) per kernel on a twin with fresh weights of this shape."""
        x_ND, weights_Nk, experts_Nk = kernel_choice.synthetic_load(
            n_tokens, k, self.n_experts, self.d_model, grad
        )
        x_ND, gen, trials = x_ND.to(dtype), torch.Generator().manual_seed(1), {}
        for impl in ("bmm", "grouped_mm"):
            twin = RoutedExperts(self.n_experts, self.d_model, self.expert_dim, impl).to(dtype)
            with torch.no_grad():
                for p in twin.parameters():
                    p.normal_(0, 0.02, generator=gen)

            def run(twin=twin):
                with torch.enable_grad() if grad else torch.no_grad():
                    y_ND = twin(x_ND, weights_Nk, experts_Nk)
                    if grad:
                        torch.autograd.grad(y_ND.sum(), [x_ND, *twin.parameters()])

            trials[impl] = run
        return trials

    def _swiglu(self, h: torch.Tensor) -> torch.Tensor:
        gate, up = h.chunk(2, dim=-1)
        return F.silu(gate) * up

    def _loop(
        self, x_ND: torch.Tensor, weights_Nk: torch.Tensor, plan: Dispatch, k: int
    ) -> torch.Tensor:
        """The reference: plain indexing, one expert at a time, accumulate with index_add_."""
        token_A = plan.sorted_A // k
        x_AD = x_ND[token_A]
        outs, start = [], 0
        for e, n in enumerate(plan.counts_E.tolist()):
            if n:
                h = self._swiglu(F.linear(x_AD[start : start + n], self.gate_up_proj[e]))
                outs.append(F.linear(h, self.down_proj[e]))
            start += n
        y_AD = torch.cat(outs) if outs else x_AD.new_zeros(x_AD.shape)
        y_AD = y_AD * weights_Nk.flatten()[plan.sorted_A, None].to(y_AD.dtype)
        return torch.zeros_like(x_ND, dtype=y_AD.dtype).index_add_(0, token_A, y_AD)

    def _grouped_mm(
        self, x_ND: torch.Tensor, plan: Dispatch, k: int, dt: torch.dtype
    ) -> torch.Tensor:
        """Rows sorted by expert, one grouped matmul per projection (operands in ``dt``, see
        ``_matmul_dtype``); returns rows in (n, j) order."""
        x_SD = to_experts(x_ND, plan.sorted_A // k, plan.rank_A, k).to(dt)
        offs_E = torch.cumsum(plan.counts_E, 0).to(torch.int32)
        gate_up, down = self.gate_up_proj.to(dt), self.down_proj.to(dt)
        h_SI = swiglu(torch._grouped_mm(x_SD, gate_up.transpose(-2, -1), offs=offs_E))
        y_SD = torch._grouped_mm(h_SI, down.transpose(-2, -1), offs=offs_E)
        return from_experts(y_SD, plan.rank_A, inverse_M=plan.sorted_A)

    def _bmm(self, x_ND: torch.Tensor, plan: Dispatch, k: int) -> torch.Tensor:
        """Rows gathered straight into a padded [E, C, D] buffer; returns rows in (n, j) order."""
        token_EC, slot_A, capacity = plan.padded_slots(k)
        buf_ECD = to_experts(x_ND, token_EC, slot_A, k).view(self.n_experts, capacity, -1)
        h_ECI = swiglu(torch.bmm(buf_ECD, self.gate_up_proj.transpose(1, 2)))
        y_ECD = torch.bmm(h_ECI, self.down_proj.transpose(1, 2))
        return from_experts(y_ECD.view(-1, self.d_model), slot_A)


def _matmul_dtype(x: torch.Tensor) -> torch.dtype:
    """``torch._grouped_mm`` is not on autocast's op list (bmm is): under autocast its operands
    must be cast by hand to the dtype autocast would have used, or bf16 meets float32."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return x.dtype


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
        if not torch.is_grad_enabled():  # no input gradient to save: skip the weight copy
            return self.down_proj(F.silu(self.gate_proj(x_ND)) * self.up_proj(x_ND))
        # One [2W, D] projection instead of two: one matmul (and one input gradient) fewer.
        gate_up = torch.cat([self.gate_proj.weight, self.up_proj.weight])
        return self.down_proj(swiglu(F.linear(x_ND, gate_up)))
