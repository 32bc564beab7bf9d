"""Context parallel: each sequence split into ``cp`` contiguous chunks, one per rank.

Attention: every rank projects its own chunk, all-gathers K and V over the ``cp`` group (GQA's
few KV heads keep this the smaller half of the traffic) and attends its queries to the full
sequence under a mask built from GLOBAL indices, so causality and packed-document isolation are
those of the whole sequence. RoPE takes each token's global position from the batch. PyTorch's
own ``context_parallel`` has no CPU sharding rule for SDPA, so this is written here; it is the
all-gather variant (K/V of the whole sequence live on every rank during one layer), not the
ring, which would bound that memory at two chunks.

MoE losses: the load-balance and z losses of one sequence are functions of ALL its tokens, so
the router sums its statistics over the ``cp`` group before forming them (as one process would).

Legend: B batch, T local tokens, S = cp·T keys, H/K query/KV heads, d head dim, E experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.distributed.collectives import gather_seq, sum_shared
from compass.model.attention import Attention
from compass.model.moe.router import Router, Routing


class ContextParallelAttention(Attention):
    """Takes a ``[B, T, S]`` mask (local queries × global keys); see :func:`cp_mask`."""

    cp_group = None

    def forward(self, x_BTD, cos_sin, mask_BTS, positions_BT, cache=None):
        B, T, _ = x_BTD.shape
        q_BHTd, k_BKTd, v_BKTd = self.project(x_BTD, cos_sin)
        k_BKSd = gather_seq(k_BKTd, 2, self.cp_group)
        v_BKSd = gather_seq(v_BKTd, 2, self.cp_group)
        o_BHTd = F.scaled_dot_product_attention(
            q_BHTd, k_BKSd, v_BKSd, attn_mask=mask_BTS[:, None], enable_gqa=True
        )
        return self.o_proj(o_BHTd.transpose(1, 2).reshape(B, T, -1))


class ContextParallelRouter(Router):
    """The router with its balance statistics summed over the sequence's ``cp`` chunks."""

    cp_group = None

    def forward(self, x_ND: torch.Tensor, token_mask_N: torch.Tensor | None = None) -> Routing:
        logits_NE, probs_NE, weights_Nk, experts_Nk = self.route(x_ND)
        keep = token_mask_N.bool() if token_mask_N is not None else slice(None)
        lb_probs, lb_experts, lb_logits = probs_NE[keep], experts_Nk[keep], logits_NE[keep]
        counts_E = torch.bincount(lb_experts.flatten(), minlength=self.n_experts)
        # one all-reduce: [Σ probs per expert | Σ lse² | counts | tokens]
        local = torch.cat(
            [
                lb_probs.sum(0),
                torch.logsumexp(lb_logits, -1).pow(2).sum()[None],
                counts_E.float(),
                torch.tensor([float(lb_experts.shape[0])]),
            ]
        )
        total = sum_shared(local, self.cp_group)
        E = self.n_experts
        p_E, lse2, c_E, n = total[:E], total[E], total[E + 1 : 2 * E + 1].detach(), total[-1]
        n = n.detach().clamp_min(1.0)
        aux = E * torch.sum((p_E / n) * (c_E / (n * self.top_k)))
        return Routing(weights_Nk, experts_Nk, aux, lse2 / n, counts_E.detach())


def apply_context_parallel(model: nn.Module, group) -> nn.Module:
    """Swap attention and routers for their context-parallel forms (same parameters and names).

    The class swap keeps every parameter object and its name, so the optimizer, FSDP and
    checkpoints see the model unchanged.
    """
    if group is None:
        return model
    for m in model.modules():
        if type(m) is Attention:
            m.__class__ = ContextParallelAttention
            m.cp_group = group
        elif type(m) is Router:
            m.__class__ = ContextParallelRouter
            m.cp_group = group
    return model


def cp_mask(doc_ids_BS: torch.Tensor | None, B: int, S: int, rank: int, size: int, device):
    """The ``[B, T, S]`` mask of chunk ``rank``: causal on global indices, inside one document."""
    T = S // size
    q_T = rank * T + torch.arange(T, device=device)
    mask_BTS = (torch.arange(S, device=device)[None, :] <= q_T[:, None]).expand(B, T, S)
    if doc_ids_BS is not None:
        doc_q_BT = doc_ids_BS[:, rank * T : (rank + 1) * T]
        mask_BTS = mask_BTS & (doc_q_BT[:, :, None] == doc_ids_BS[:, None, :])
    return mask_BTS


def chunk_seq(x_BS: torch.Tensor, rank: int, size: int) -> torch.Tensor:
    return x_BS.chunk(size, dim=1)[rank]
