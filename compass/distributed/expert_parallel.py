"""Expert parallel: each of the ``ep`` ranks holds ``E / ep`` routed experts.

Every rank routes its own tokens (the router, shared experts and attention stay data-parallel),
sends each assignment's row to the rank that owns its expert with one all-to-all, runs its local
experts with the single-device kernels, and sends the results back the same way. Dropless: the
split sizes are the actual counts, exchanged first. The parameter names stay those of the model
(``layers.i.moe.experts.gate_up_proj``) with a first dimension of ``E / ep``, so checkpoints map
each slice back to its place in the full tensor.

Legend: N tokens, k experts per token, A = N·k assignments, E experts, R rows received, D width.
"""

from __future__ import annotations

import torch
from torch import nn

from compass.distributed.collectives import all_to_all, exchange_counts
from compass.model.moe.dispatch import from_experts, to_experts
from compass.model.moe.experts import RoutedExperts


class ExpertParallel(RoutedExperts):
    def __init__(self, full: RoutedExperts, rank: int, size: int, group):
        local = full.n_experts // size
        super().__init__(local, full.d_model, full.expert_dim, full.impl)
        self.n_global, self.ep_rank, self.ep_size, self.group = full.n_experts, rank, size, group
        self.first = rank * local
        if full.gate_up_proj.is_meta:
            self.to_empty(device="meta")
        else:
            with torch.no_grad():
                self.to(full.gate_up_proj.device)
                self.gate_up_proj.copy_(full.gate_up_proj[self.first : self.first + local])
                self.down_proj.copy_(full.down_proj[self.first : self.first + local])

    def forward(
        self, x_ND: torch.Tensor, weights_Nk: torch.Tensor, experts_Nk: torch.Tensor
    ) -> torch.Tensor:
        N, k = experts_Nk.shape
        flat_A = experts_Nk.flatten()
        order_A = torch.argsort(flat_A, stable=True)
        rank_A = torch.empty_like(order_A).scatter_(
            0, order_A, torch.arange(order_A.numel(), device=order_A.device)
        )
        counts_PL = torch.bincount(flat_A, minlength=self.n_global).view(self.ep_size, -1)
        recv_PL = exchange_counts(counts_PL, self.group)  # rows each source sends per local expert
        send, recv = counts_PL.sum(1).tolist(), recv_PL.sum(1).tolist()
        x_AD = to_experts(x_ND, order_A // k, rank_A, k)  # expert-major, so rank-major too
        x_RD = all_to_all(x_AD, send, recv, self.group)
        local_R = torch.arange(self.n_experts, device=x_ND.device).repeat(self.ep_size)
        local_R = local_R.repeat_interleave(recv_PL.flatten())
        ones_R1 = torch.ones(x_RD.shape[0], 1, dtype=torch.float32, device=x_ND.device)
        y_RD = super().forward(x_RD, ones_R1, local_R[:, None])
        if not y_RD.requires_grad and x_RD.requires_grad:
            # nothing came to this rank, yet its peers' backward all-to-alls need its half:
            # keep the (empty) result on the graph so this rank joins them
            y_RD = y_RD + x_RD[:, :1] * 0
        y_AD = all_to_all(y_RD, recv, send, self.group)
        y_AD = from_experts(y_AD, rank_A, inverse_M=order_A)  # back to (token, choice) order
        w_N1k = weights_Nk.to(y_AD.dtype).unsqueeze(1)
        return torch.bmm(w_N1k, y_AD.view(N, k, -1)).squeeze(1)


def apply_expert_parallel(model: nn.Module, rank: int, size: int, group) -> nn.Module:
    """Swap every ``RoutedExperts`` for its ``E / size`` slice at ``rank`` (in place)."""
    if size == 1:
        return model
    for parent in list(model.modules()):
        child = getattr(parent, "experts", None)
        if isinstance(child, RoutedExperts) and not isinstance(child, ExpertParallel):
            parent.experts = ExpertParallel(child, rank, size, group)
    return model


def is_expert_param(name: str) -> bool:
    return ".experts." in name
