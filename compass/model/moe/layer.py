"""One MoE feed-forward layer: ``y = shared(x) + Σ_{i∈top-k} softmax(router(x))_i · expert_i(x)``.

Legend: B batch, T tokens, N = B·T, D model dim.
"""

from __future__ import annotations

import torch
from torch import nn

from compass.model.config import ModelConfig
from compass.model.moe.experts import RoutedExperts, SharedExperts
from compass.model.moe.router import Router, Routing


class MoELayer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.router = Router(
            config.d_model, config.n_routed_experts, config.top_k, config.renormalize_topk
        )
        self.experts = RoutedExperts(
            config.n_routed_experts, config.d_model, config.expert_dim, config.expert_impl
        )
        width = config.n_shared_experts * config.expert_dim
        self.shared = SharedExperts(config.d_model, width) if width else None

    def forward(
        self, x_BTD: torch.Tensor, token_mask_BT: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Routing]:
        B, T, D = x_BTD.shape
        x_ND = x_BTD.reshape(B * T, D)
        mask_N = token_mask_BT.reshape(-1) if token_mask_BT is not None else None
        routing = self.router(x_ND, mask_N)
        y_ND = self.experts(x_ND, routing.weights_Nk, routing.experts_Nk)
        if self.shared is not None:
            y_ND = y_ND + self.shared(x_ND)
        return y_ND.view(B, T, D), routing
