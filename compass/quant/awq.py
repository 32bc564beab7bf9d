"""AWQ (Lin et al., 2023): activation-aware per-input-channel scales for weight-only INT4.

Salient input channels (large mean |x|) dominate the output error, so before quantizing, each
input column of ``W`` is multiplied by ``s_k = mean|x_k|^alpha`` (normalised so
``max(s)·min(s) = 1``) and activations are divided by ``s`` on the way in. ``alpha`` is chosen
from a grid over [0, 1) to minimise the layer's output error on calibration activations;
alpha = 0 is plain round-to-nearest, so the search never does worse than RTN on its own data.

Calibration activations are captured from the float model in one pass: the input rows of every
quantized linear, and for routed experts the rows each expert was actually routed (the down
projection's inputs are recomputed per expert from its float gate/up weights).

Legend: N output channels, K input channels, M calibration rows, E experts, D model dim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


@dataclass
class ScaleSearch:
    scale_K: torch.Tensor
    alpha: float
    err: float  # output MSE with the chosen scale
    err_rtn: float  # output MSE at alpha = 0 (round-to-nearest)


@torch.no_grad()
def search_scale(
    w_NK: torch.Tensor,
    x_MK: torch.Tensor,
    fake_quant: Callable[[torch.Tensor], torch.Tensor],
    n_grid: int = 20,
) -> ScaleSearch:
    """The AWQ grid search for one weight; ``fake_quant(w)`` returns dequantize(quantize(w))."""
    w_NK, x_MK = w_NK.float(), x_MK.float()
    y_ref = x_MK @ w_NK.t()
    x_mean_K = x_MK.abs().mean(0)
    best: ScaleSearch | None = None
    err_rtn = float("nan")
    for i in range(n_grid):
        alpha = i / n_grid
        s_K = x_mean_K.pow(alpha).clamp(min=1e-4)
        s_K = s_K / (s_K.max() * s_K.min()).sqrt()
        w_q = fake_quant(w_NK * s_K) / s_K
        err = float((x_MK @ w_q.t() - y_ref).pow(2).mean())
        if i == 0:
            err_rtn = err
        if best is None or err < best.err:
            best = ScaleSearch(s_K, alpha, err, err_rtn)
    assert best is not None
    best.err_rtn = err_rtn
    return best


@torch.no_grad()
def search_clip(
    w_NK: torch.Tensor,
    x_MK: torch.Tensor,
    fake_quant: Callable[[torch.Tensor], torch.Tensor],
    group: int,
    n_grid: int = 20,
    max_shrink: float = 0.5,
    max_rows: int = 512,
) -> torch.Tensor:
    """AWQ's clipping search: per (row, group), shrink the range to ``r·[min, max]`` with the
    ``r`` in ``[1 - max_shrink, 1]`` that minimises that group's output error on ``x``;
    returns the clipped weight. Outliers inside a group otherwise stretch its step for all.

    Called on the already scaled weight and activations (``W·s`` and ``x/s``).
    """
    n, k = w_NK.shape
    x_MGg = x_MK[:max_rows].float().reshape(-1, k // group, group)
    w_NGg = w_NK.float().reshape(n, k // group, group)
    wmax, wmin = w_NGg.amax(-1, keepdim=True), w_NGg.amin(-1, keepdim=True)
    best_err = torch.full((n, k // group), float("inf"))
    best = w_NGg.clone()
    for i in range(int(max_shrink * n_grid) + 1):
        r = 1.0 - i / n_grid
        w_c = torch.minimum(torch.maximum(w_NGg, wmin * r), wmax * r)
        delta = fake_quant(w_c.reshape(n, k)).reshape(n, k // group, group) - w_NGg
        err = torch.einsum("mgc,ngc->mng", x_MGg, delta).pow(2).mean(0)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better[..., None], w_c, best)
    return best.reshape(n, k)


class ActivationCapture:
    """Forward hooks that keep up to ``max_rows`` input rows per module (a seeded subsample)."""

    def __init__(self, max_rows: int, seed: int = 0):
        self.max_rows = max_rows
        self.gen = torch.Generator().manual_seed(seed)
        self.rows: dict[str, list[torch.Tensor]] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _keep(self, key: str, x_MK: torch.Tensor) -> None:
        x_MK = x_MK.detach().float().reshape(-1, x_MK.shape[-1])
        if x_MK.shape[0] > self.max_rows:
            idx = torch.randperm(x_MK.shape[0], generator=self.gen)[: self.max_rows]
            x_MK = x_MK[idx]
        parts = self.rows.setdefault(key, [])
        parts.append(x_MK)
        # Bound memory over long calibration runs: fold the parts into one subsample of 2× cap.
        if sum(p.shape[0] for p in parts) > 4 * self.max_rows:
            merged = torch.cat(parts)
            idx = torch.randperm(merged.shape[0], generator=self.gen)[: 2 * self.max_rows]
            self.rows[key] = [merged[idx]]

    def add_linear(self, name: str, module: nn.Module) -> None:
        self._handles.append(module.register_forward_pre_hook(lambda m, a: self._keep(name, a[0])))

    def add_experts(self, name: str, module: nn.Module) -> None:
        """Routed experts: keep each expert's routed rows under ``name/e``."""

        def hook(m, args):
            x_ND, _, experts_Nk = args
            for e in range(m.n_experts):
                hit_N = (experts_Nk == e).any(-1)
                if bool(hit_N.any()):
                    self._keep(f"{name}/{e}", x_ND[hit_N])

        self._handles.append(module.register_forward_pre_hook(hook))

    def get(self, key: str) -> torch.Tensor | None:
        parts = self.rows.get(key)
        if not parts:
            return None
        x = torch.cat(parts)
        if x.shape[0] > self.max_rows:
            x = x[torch.randperm(x.shape[0], generator=self.gen)[: self.max_rows]]
        return x

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


def expert_hidden(gate_up_ID: torch.Tensor, x_MD: torch.Tensor) -> torch.Tensor:
    """The down projection's input for one expert: ``silu(x Wg^T) * (x Wu^T)``."""
    gate, up = F.linear(x_MD, gate_up_ID).chunk(2, dim=-1)
    return F.silu(gate) * up
