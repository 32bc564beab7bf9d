"""Grouped-query attention with RoPE.

Three masking regimes share one code path: plain causal training (SDPA's fused ``is_causal``),
packed/padded batches (a block-diagonal causal mask from document ids or an attention mask),
and cached decoding (keys at absolute positions, see ``kv_cache.py``).

Legend: B batch, T query tokens, S key tokens, D model dim, H query heads, K kv heads, d head dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.model.config import ModelConfig
from compass.model.rope import apply_rope


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads, self.n_kv_heads, self.head_dim = (
            config.n_heads,
            config.n_kv_heads,
            config.head_dim,
        )
        d = config.d_model
        self.q_proj = nn.Linear(d, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, d, bias=False)

    def project(self, x_BTD: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor]):
        """Queries, keys and values, heads first, RoPE applied (context parallel reuses this)."""
        B, T, _ = x_BTD.shape
        q_BHTd = self.q_proj(x_BTD).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k_BKTd = self.k_proj(x_BTD).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v_BKTd = self.v_proj(x_BTD).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos_sin
        return apply_rope(q_BHTd, cos, sin), apply_rope(k_BKTd, cos, sin), v_BKTd

    def forward(
        self,
        x_BTD: torch.Tensor,
        cos_sin: tuple[torch.Tensor, torch.Tensor],
        mask_BTS: torch.Tensor | None,
        positions_BT: torch.Tensor,
        cache=None,
    ) -> torch.Tensor:
        B, T, _ = x_BTD.shape
        q_BHTd, k_BKTd, v_BKTd = self.project(x_BTD, cos_sin)
        if cache is not None:
            k_BKTd, v_BKTd, cache_mask_BTS = cache.update(
                self.layer_idx, k_BKTd, v_BKTd, positions_BT
            )
            mask_BTS = cache_mask_BTS if mask_BTS is None else mask_BTS & cache_mask_BTS
        if mask_BTS is None:
            o_BHTd = F.scaled_dot_product_attention(
                q_BHTd, k_BKTd, v_BKTd, is_causal=True, enable_gqa=True
            )
        else:
            o_BHTd = F.scaled_dot_product_attention(
                q_BHTd, k_BKTd, v_BKTd, attn_mask=mask_BTS[:, None], enable_gqa=True
            )
        return self.o_proj(o_BHTd.transpose(1, 2).reshape(B, T, -1))


def build_mask(
    positions_BT: torch.Tensor,
    doc_ids_BT: torch.Tensor | None = None,
    attention_mask_BT: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """Boolean [B, T, T] mask for a batch without cache, or None when plain causal suffices.

    Packed sequences pass ``doc_ids_BT`` (attention stays inside a document; positions restart per
    document); padded batches pass ``attention_mask_BT`` (1 = real token). A query row that would
    see nothing (a padding token) is allowed to see itself, so SDPA never produces NaN.
    """
    if doc_ids_BT is None and attention_mask_BT is None:
        return None
    B, T = positions_BT.shape
    idx = torch.arange(T, device=positions_BT.device)
    mask = (idx[None, :] <= idx[:, None]).expand(B, T, T)
    if doc_ids_BT is not None:
        mask = mask & (doc_ids_BT[:, :, None] == doc_ids_BT[:, None, :])
    if attention_mask_BT is not None:
        mask = mask & attention_mask_BT.bool()[:, None, :]
    return mask | torch.eye(T, dtype=torch.bool, device=positions_BT.device)[None]
