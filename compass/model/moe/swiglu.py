"""SwiGLU on a fused ``[..., 2I]`` gate|up projection, with a backward that writes in place.

Autograd's version of ``silu(gate) * up`` after ``chunk`` needs four elementwise passes plus a
``cat`` to rebuild the fused gradient; this one saves ``silu(gate)`` and writes both halves of the
gradient straight into one buffer (three passes). On a shared 2-core CPU each pass over the
expert activations costs as much as a fair slice of the matmuls (bench/moe_block.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _SwiGLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h_X2I: torch.Tensor) -> torch.Tensor:
        gate, up = h_X2I.chunk(2, dim=-1)
        s = F.silu(gate)
        ctx.save_for_backward(h_X2I, s)
        return s * up

    @staticmethod
    def backward(ctx, grad_XI: torch.Tensor) -> torch.Tensor:
        h_X2I, s = ctx.saved_tensors
        gate, up = h_X2I.chunk(2, dim=-1)
        grad = torch.empty_like(h_X2I)
        grad_gate, grad_up = grad.chunk(2, dim=-1)
        torch.mul(grad_XI, s, out=grad_up)
        torch.mul(grad_XI, up, out=grad_gate)
        torch.ops.aten.silu_backward.grad_input(grad_gate, gate, grad_input=grad_gate)
        return grad


def swiglu(h_X2I: torch.Tensor) -> torch.Tensor:
    """``silu(gate) * up`` where ``gate, up = h.chunk(2, -1)``."""
    return _SwiGLU.apply(h_X2I)
