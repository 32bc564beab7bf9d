"""Plain oracles for the MoE pieces, written for clarity, not speed: one token at a time."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def moe_token_by_token(x_ND, router_w_ED, gate_up_E2ID, down_EDI, shared, top_k, renormalize=False):
    """y_n = shared(x_n) + Σ_{i∈topk} p_i · down_i(silu(gate_i x_n) · up_i x_n), looping tokens."""
    outs = []
    for x_D in x_ND:
        probs_E = torch.softmax(x_D.float() @ router_w_ED.float().t(), dim=-1)
        w_k, idx_k = torch.topk(probs_E, top_k)
        if renormalize:
            w_k = w_k / w_k.sum()
        y = torch.zeros_like(x_D)
        for w, e in zip(w_k, idx_k.tolist()):
            gate, up = (gate_up_E2ID[e] @ x_D).chunk(2)
            y = y + w * (down_EDI[e] @ (F.silu(gate) * up))
        if shared is not None:
            y = y + shared(x_D[None])[0]
        outs.append(y)
    return torch.stack(outs)


def aux_loss_by_formula(probs_NE, experts_Nk):
    """The report's L_aux = N·Σ_i (p_i/B)·(c_i/(B·K)) with explicit Python sums."""
    B, K = experts_Nk.shape
    N = probs_NE.shape[1]
    total = 0.0
    for i in range(N):
        p_i = sum(float(probs_NE[j, i]) for j in range(B))
        c_i = sum(int((experts_Nk[j] == i).sum()) for j in range(B))
        total += (p_i / B) * (c_i / (B * K))
    return N * total
