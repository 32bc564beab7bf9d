"""Rotary position embedding, the half-rotation layout of Llama/Qwen2 (so exported weights need no
permutation). The base is a config value because the long-context stage raises it (ABF, 10k -> 1M).

Legend: B batch, T tokens, H heads, d head dim.
"""

from __future__ import annotations

import torch


def rope_cos_sin(
    positions_BT: torch.Tensor, head_dim: int, base: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    # Frequencies in float32 (as HF computes them) so long positions keep their precision.
    inv_freq = 1.0 / (
        base
        ** (
            torch.arange(0, head_dim, 2, device=positions_BT.device, dtype=torch.int64).float()
            / head_dim
        )
    )
    freqs_BTd = positions_BT.float()[..., None] * inv_freq
    emb = torch.cat((freqs_BTd, freqs_BTd), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x_BHTd: torch.Tensor, cos_BTd: torch.Tensor, sin_BTd: torch.Tensor) -> torch.Tensor:
    cos, sin = cos_BTd[:, None], sin_BTd[:, None]
    return x_BHTd * cos + _rotate_half(x_BHTd) * sin
