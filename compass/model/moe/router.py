"""Softmax top-k router in float32, with the report's load-balance and z losses (§2.2).

The report found bf16 router logits overflow, so logits, softmax and both losses are float32.
The top-k weights are the plain softmax probabilities (not renormalised) by default: the routing
that transformers' Qwen2-MoE (norm_topk_prob=False), vLLM and llama.cpp all reproduce.

Legend: N tokens, D model dim, E routed experts, k experts per token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Routing:
    weights_Nk: torch.Tensor  # float32 routing weights of the chosen experts
    experts_Nk: torch.Tensor  # int64 expert ids
    aux_loss: torch.Tensor  # scalar, L_aux = E * sum_i (P_i/B) * (c_i/(B*k))
    z_loss: torch.Tensor  # scalar, mean_j logsumexp_i(z_ij)^2
    counts_E: torch.Tensor  # tokens routed to each expert (detached), for load logging


def load_balance_loss(
    probs_NE: torch.Tensor, experts_Nk: torch.Tensor, n_experts: int
) -> torch.Tensor:
    """``L_aux = N_E · Σ_i (p_i / B) · (c_i / (B·K))``: 1 for perfectly uniform routing.

    ``p_i`` is the summed router probability of expert i over the B tokens (differentiable),
    ``c_i`` how many of the B·K assignments chose it (a count, no gradient).
    """
    n_tokens, k = experts_Nk.shape
    counts_E = torch.bincount(experts_Nk.flatten(), minlength=n_experts).to(probs_NE.dtype)
    p_E = probs_NE.sum(0)
    return n_experts * torch.sum((p_E / n_tokens) * (counts_E / (n_tokens * k)))


def z_loss(logits_NE: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(logits_NE, dim=-1).pow(2).mean()


class Router(nn.Module):
    def __init__(self, d_model: int, n_experts: int, top_k: int, renormalize: bool = False):
        super().__init__()
        self.n_experts, self.top_k, self.renormalize = n_experts, top_k, renormalize
        self.weight = nn.Parameter(torch.empty(n_experts, d_model))

    def route(self, x_ND: torch.Tensor):
        """Float32 logits and probabilities, and each token's top-k weights and experts."""
        logits_NE = x_ND.float() @ self.weight.float().t()
        probs_NE = torch.softmax(logits_NE, dim=-1)
        weights_Nk, experts_Nk = torch.topk(probs_NE, self.top_k, dim=-1)
        if self.renormalize:
            weights_Nk = weights_Nk / weights_Nk.sum(-1, keepdim=True)
        return logits_NE, probs_NE, weights_Nk, experts_Nk

    def forward(self, x_ND: torch.Tensor, token_mask_N: torch.Tensor | None = None) -> Routing:
        logits_NE, probs_NE, weights_Nk, experts_Nk = self.route(x_ND)
        # Padding tokens are routed (their outputs are discarded) but must not skew the losses.
        if token_mask_N is not None:
            keep = token_mask_N.bool()
            lb_probs, lb_experts, lb_logits = probs_NE[keep], experts_Nk[keep], logits_NE[keep]
        else:
            lb_probs, lb_experts, lb_logits = probs_NE, experts_Nk, logits_NE
        if lb_experts.shape[0] == 0 or torch.is_inference_mode_enabled():
            # Serving runs under inference_mode and never reads the losses: skip their ~10 small
            # ops per layer. Evaluation under no_grad still gets them.
            zero = logits_NE.sum() * 0.0
            aux, zl = zero, zero
        else:
            aux = load_balance_loss(lb_probs, lb_experts, self.n_experts)
            zl = z_loss(lb_logits)
        counts_E = torch.bincount(lb_experts.flatten(), minlength=self.n_experts).detach()
        return Routing(weights_Nk, experts_Nk, aux, zl, counts_E)
