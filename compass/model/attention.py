"""Grouped-query attention with RoPE.

Three masking regimes share one code path: plain causal training (SDPA's fused ``is_causal``),
packed/padded batches (a block-diagonal causal mask from document ids or an attention mask),
and cached decoding (keys at absolute positions, see ``kv_cache.py``). Packed rows of many short
documents can instead attend one document at a time (:class:`DocSegments`): the same attention
as the block-diagonal mask without computing the scores it masks out.

Legend: B batch, T query tokens, S key tokens, D model dim, H query heads, K kv heads, d head dim.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        mask_BTS: torch.Tensor | DocSegments | None,
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
        if isinstance(mask_BTS, DocSegments):
            return self.o_proj(segment_attention(q_BHTd, k_BKTd, v_BKTd, mask_BTS))
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


@dataclass
class DocSegments:
    """A packed batch laid out for attention one document at a time.

    Each (row, document id) is a segment: its tokens in order, the padding of a row (id -1)
    included, which is what :func:`build_mask`'s block-diagonal mask lets them see. Segments of
    similar length (within 2x of the block's longest) share a padded ``[n, L]`` block of flat
    token indices (B·T flat); a short segment is padded with its last token, which only later
    (discarded) queries of the block see under the causal mask. ``place_N`` is each flat token's
    row in the blocks' concatenated outputs.

    Legend: N = B·T flat tokens, n segments in a block, L the block's length.
    """

    blocks: list[torch.Tensor]  # [n, L] flat token indices each
    place_N: torch.Tensor

    @classmethod
    def build(cls, doc_ids_BT: torch.Tensor) -> DocSegments:
        B, T = doc_ids_BT.shape
        segments: dict[tuple[int, int], list[int]] = {}
        for b, row in enumerate(doc_ids_BT.tolist()):
            for t, doc in enumerate(row):
                segments.setdefault((b, doc), []).append(b * T + t)
        todo = sorted(segments.values(), key=len, reverse=True)
        blocks, place, offset, i = [], [0] * (B * T), 0, 0
        while i < len(todo):
            L, j = len(todo[i]), i
            while j < len(todo) and 2 * len(todo[j]) > L:
                j += 1
            for r, seg in enumerate(todo[i:j]):
                for t, n in enumerate(seg):
                    place[n] = offset + r * L + t
            blocks.append([seg + seg[-1:] * (L - len(seg)) for seg in todo[i:j]])
            offset, i = offset + (j - i) * L, j
        dev = doc_ids_BT.device
        return cls([torch.tensor(x, device=dev) for x in blocks], torch.tensor(place, device=dev))


def segment_attention(
    q_BHTd: torch.Tensor, k_BKTd: torch.Tensor, v_BKTd: torch.Tensor, seg: DocSegments
) -> torch.Tensor:
    """Causal attention inside each segment of ``seg``, as [B, T, H·d]: one fused causal SDPA
    per block of segments."""
    B, H, T, d = q_BHTd.shape
    flat = [x.transpose(1, 2).reshape(B * T, -1, d) for x in (q_BHTd, k_BKTd, v_BKTd)]
    outs = []
    for idx_nL in seg.blocks:
        n, L = idx_nL.shape
        q, k, v = (
            x.index_select(0, idx_nL.flatten()).view(n, L, -1, d).transpose(1, 2) for x in flat
        )
        o_nHLd = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        outs.append(o_nHLd.transpose(1, 2).reshape(n * L, H * d))
    return torch.cat(outs).index_select(0, seg.place_N).view(B, T, H * d)
