"""Drop-in quantized replacements for the model's ``nn.Linear``, routed experts and embedding.

Each has the forward signature of the module it replaces, so a quantized ``CompassModel`` is
still a ``CompassModel``: the engine, the evaluator and generation run it unchanged.

Legend: N tokens, k experts per token, A = N·k assignments, D model dim, I expert dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.quant.weights import Int8Weight, QuantWeight


class QuantLinear(nn.Module):
    """``y = x @ W.T`` with a quantized ``W`` (no bias: the model's linears have none)."""

    def __init__(self, weight: QuantWeight):
        super().__init__()
        self.weight = weight
        self.in_features, self.out_features = weight.in_features, weight.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.weight.linear(x.reshape(-1, self.in_features))
        return y.reshape(*x.shape[:-1], self.out_features)


class QuantRoutedExperts(nn.Module):
    """``RoutedExperts`` over quantized stacked weights ``gate_up [E, 2I, D]``, ``down [E, D, I]``.

    Tokens are sorted by expert exactly as in the float module; each active expert then runs its
    two quantized matmuls on its own rows (at decode, only the k chosen experts do any work).
    """

    def __init__(self, gate_up: QuantWeight, down: QuantWeight):
        super().__init__()
        self.gate_up_proj, self.down_proj = gate_up, down
        self.n_experts, self.d_model = gate_up.shape[0], gate_up.shape[-1]
        self.expert_dim = down.shape[-1]

    def forward(
        self, x_ND: torch.Tensor, weights_Nk: torch.Tensor, experts_Nk: torch.Tensor
    ) -> torch.Tensor:
        k = experts_Nk.shape[1]
        flat_A = experts_Nk.flatten()
        order_A = torch.argsort(flat_A, stable=True)
        token_A = order_A // k
        counts_E = torch.bincount(flat_A, minlength=self.n_experts)
        x_AD = x_ND[token_A]
        outs, start = [], 0
        for e, n in enumerate(counts_E.tolist()):
            if n:
                gate, up = self.gate_up_proj.linear(x_AD[start : start + n], e).chunk(2, dim=-1)
                outs.append(self.down_proj.linear(F.silu(gate) * up, e))
            start += n
        y_AD = torch.cat(outs) if outs else x_AD.new_zeros(x_AD.shape)
        y_AD = y_AD * weights_Nk.flatten()[order_A, None].to(y_AD.dtype)
        return torch.zeros_like(x_ND).index_add_(0, token_A, y_AD)


class QuantSharedExperts(nn.Module):
    """``SharedExperts`` (one SwiGLU MLP of width n_shared·I) over three quantized linears."""

    def __init__(self, gate: QuantWeight, up: QuantWeight, down: QuantWeight):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = (
            QuantLinear(gate),
            QuantLinear(up),
            QuantLinear(down),
        )

    def forward(self, x_ND: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x_ND)) * self.up_proj(x_ND))


class QuantEmbedding(nn.Module):
    """Token embedding as INT8 rows with a scale per row: a lookup dequantizes only the rows used.

    The report keeps the LM head in full precision; the input table is quantized (as llama.cpp
    does) because at small scale it is a third of the weights and would dominate the file size.
    """

    def __init__(self, weight: Int8Weight):
        super().__init__()
        self.weight = weight
        self.num_embeddings, self.embedding_dim = weight.shape

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        q = F.embedding(ids, self.weight.qweight)
        return q.float() * self.weight.scales[ids].unsqueeze(-1)
