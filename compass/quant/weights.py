"""Quantized weight holders: INT4 (group-wise, packed), INT8 (per channel), FP8 e4m3 (per channel).

Each holds a weight of shape ``[..., N, K]`` (``[N, K]`` for a linear layer, ``[E, N, K]`` for
stacked routed experts) as buffers, and offers two operations:
- ``linear(x_MK, e)``: ``x @ W_e.T`` for the whole weight (e=None) or expert ``e``;
- ``dequantize(e)``: the float32 weight that ``linear`` multiplies by — the oracle in tests.

AWQ's per-input-channel scale ``s`` is kept as an ``input_scale`` buffer ``[..., K]``: the stored
weight is ``Q(W·diag(s))`` and activations are divided by ``s`` on the way in (torchao's AWQ does
the same), so every expert can carry its own scale and nothing is folded into shared norms.

Calls go through the packed kernels PyTorch ships for CPU: for decode they beat the float32
GEMM (a quarter/eighth of the bytes to read) and up to a few hundred rows they stay on par with it,
while dequantizing a large weight on every call costs more than the GEMM itself
(bench/quant_speed.py). Only very long prefills (> KERNEL_MAX_ROWS rows), where the
dequantization is amortised, and shapes the kernels refuse take dequantize + float32 GEMM.

Legend: N output channels, K input channels, G groups per row, M activation rows, E experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compass.quant import int4

# Rows up to which the packed kernels are used (see the module docstring).
KERNEL_MAX_ROWS = 1024
FP8_MAX = 448.0


class QuantWeight(nn.Module):
    method = ""

    def __init__(self, shape: tuple[int, ...], act_scale: bool):
        super().__init__()
        self.shape = tuple(shape)
        if act_scale:
            self.register_buffer("input_scale", torch.ones(*shape[:-2], shape[-1]))
        else:
            self.input_scale = None

    # Duck-typing as a weight tensor for code that asks (KV-cache dtype, parameter counts):
    # activations and outputs stay float32, whatever the storage.
    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def device(self) -> torch.device:
        return self.qweight.device

    def numel(self) -> int:
        return int(torch.Size(self.shape).numel())

    @property
    def in_features(self) -> int:
        return self.shape[-1]

    @property
    def out_features(self) -> int:
        return self.shape[-2]

    def _scaled_input(self, x_MK: torch.Tensor, e: int | None) -> torch.Tensor:
        if self.input_scale is None:
            return x_MK
        return x_MK / (self.input_scale if e is None else self.input_scale[e])

    def _unscale(self, w: torch.Tensor, e: int | None) -> torch.Tensor:
        if self.input_scale is None:
            return w
        s = self.input_scale if e is None else self.input_scale[e]
        return w / s.unsqueeze(-2)

    def linear(self, x_MK: torch.Tensor, e: int | None = None) -> torch.Tensor:
        return self._matmul(self._scaled_input(x_MK, e), e)

    def dequantize(self, e: int | None = None) -> torch.Tensor:
        return self._unscale(self._dequant_stored(e), e)

    def _matmul(self, x_MK: torch.Tensor, e: int | None) -> torch.Tensor:
        return F.linear(x_MK, self._dequant_stored(e).to(x_MK.dtype))

    def _dequant_stored(self, e: int | None) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self) -> None:
        """Build kernel-side tensors from the stored buffers (after quantizing or loading)."""

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self.prepare()

    def extra_repr(self) -> str:
        return f"{self.method}, shape={self.shape}, awq={self.input_scale is not None}"


class Int4Weight(QuantWeight):
    method = "int4"

    def __init__(self, shape: tuple[int, ...], group_size: int, act_scale: bool = False):
        super().__init__(shape, act_scale)
        *lead, n, k = shape
        self.group_size = int4.effective_group_size(k, group_size)
        g_count = k // self.group_size
        self.register_buffer("qweight", torch.zeros(*lead, n, k // 2, dtype=torch.uint8))
        self.register_buffer("scales", torch.ones(*lead, n, g_count, dtype=torch.float16))
        self.register_buffer("zeros", torch.zeros(*lead, n, g_count, dtype=torch.uint8))
        self._kernel: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    @classmethod
    def from_float(
        cls, w: torch.Tensor, group_size: int, input_scale: torch.Tensor | None = None
    ) -> Int4Weight:
        mod = cls(tuple(w.shape), group_size, act_scale=input_scale is not None)
        if input_scale is not None:
            mod.input_scale.copy_(input_scale)
            w = w * input_scale.unsqueeze(-2)
        t = int4.quantize_int4(w, mod.group_size)
        mod.qweight.copy_(t.qweight)
        mod.scales.copy_(t.scales)
        mod.zeros.copy_(t.zeros)
        mod.prepare()
        return mod

    def tensors(self, e: int | None = None) -> int4.Int4Tensors:
        if e is None:
            return int4.Int4Tensors(self.qweight, self.scales, self.zeros)
        return int4.Int4Tensors(self.qweight[e], self.scales[e], self.zeros[e])

    def prepare(self) -> None:
        n, k = self.shape[-2:]
        if not int4.kernel_supported(n, k, self.group_size):
            self._kernel = None
            return
        if len(self.shape) == 2:
            self._kernel = [int4.to_kernel_layout(self.tensors())]
        else:
            self._kernel = [int4.to_kernel_layout(self.tensors(e)) for e in range(self.shape[0])]

    def _dequant_stored(self, e: int | None) -> torch.Tensor:
        return int4.dequantize_int4(self.tensors(e))

    def _matmul(self, x_MK: torch.Tensor, e: int | None) -> torch.Tensor:
        if self._kernel is not None and x_MK.shape[0] <= KERNEL_MAX_ROWS:
            packed, scale_zero = self._kernel[0 if e is None else e]
            return int4.kernel_matmul(x_MK, packed, scale_zero, self.group_size)
        return super()._matmul(x_MK, e)


class Int8Weight(QuantWeight):
    """Symmetric per-output-channel INT8; decode rows go through ``torch._weight_int8pack_mm``."""

    method = "int8"

    def __init__(self, shape: tuple[int, ...], group_size: int = 0, act_scale: bool = False):
        super().__init__(shape, act_scale)
        self.register_buffer("qweight", torch.zeros(*shape, dtype=torch.int8))
        self.register_buffer("scales", torch.ones(*shape[:-1]))

    @classmethod
    def from_float(
        cls, w: torch.Tensor, group_size: int = 0, input_scale: torch.Tensor | None = None
    ) -> Int8Weight:
        mod = cls(tuple(w.shape), act_scale=input_scale is not None)
        if input_scale is not None:
            mod.input_scale.copy_(input_scale)
            w = w * input_scale.unsqueeze(-2)
        s = (w.float().abs().amax(-1) / 127.0).clamp(min=1e-8)
        mod.qweight.copy_(torch.clamp(torch.round(w.float() / s[..., None]), -127, 127))
        mod.scales.copy_(s)
        return mod

    def _dequant_stored(self, e: int | None) -> torch.Tensor:
        q, s = (self.qweight, self.scales) if e is None else (self.qweight[e], self.scales[e])
        return q.float() * s[..., None]

    def _matmul(self, x_MK: torch.Tensor, e: int | None) -> torch.Tensor:
        if x_MK.shape[0] <= KERNEL_MAX_ROWS and hasattr(torch, "_weight_int8pack_mm"):
            q, s = (self.qweight, self.scales) if e is None else (self.qweight[e], self.scales[e])
            # bfloat16 activations take the kernel's vectorised path (float32 runs scalar code).
            y = torch._weight_int8pack_mm(x_MK.to(torch.bfloat16), q, s.to(torch.bfloat16))
            return y.to(x_MK.dtype)
        return super()._matmul(x_MK, e)


class FP8Weight(QuantWeight):
    """float8 e4m3 with a float32 scale per output channel. CPUs upcast to float32 to multiply;
    Hopper/Ada GPUs run ``torch._scaled_mm`` with the activations quantized per row (W8A8)."""

    method = "fp8"

    def __init__(self, shape: tuple[int, ...], group_size: int = 0, act_scale: bool = False):
        super().__init__(shape, act_scale)
        self.register_buffer("qweight", torch.zeros(*shape, dtype=torch.float8_e4m3fn))
        self.register_buffer("scales", torch.ones(*shape[:-1]))

    @classmethod
    def from_float(
        cls, w: torch.Tensor, group_size: int = 0, input_scale: torch.Tensor | None = None
    ) -> FP8Weight:
        mod = cls(tuple(w.shape), act_scale=input_scale is not None)
        if input_scale is not None:
            mod.input_scale.copy_(input_scale)
            w = w * input_scale.unsqueeze(-2)
        s = (w.float().abs().amax(-1) / FP8_MAX).clamp(min=1e-12)
        mod.qweight.copy_((w.float() / s[..., None]).to(torch.float8_e4m3fn))
        mod.scales.copy_(s)
        return mod

    def _dequant_stored(self, e: int | None) -> torch.Tensor:
        q, s = (self.qweight, self.scales) if e is None else (self.qweight[e], self.scales[e])
        return q.float() * s[..., None]

    def _matmul(self, x_MK: torch.Tensor, e: int | None) -> torch.Tensor:
        if fp8_kernel_ok(x_MK, self.shape):
            q, s = (self.qweight, self.scales) if e is None else (self.qweight[e], self.scales[e])
            return fp8_scaled_mm(x_MK, q, s)
        return super()._matmul(x_MK, e)


def fp8_kernel_ok(x_MK: torch.Tensor, shape: tuple[int, ...]) -> bool:
    """Hopper/Ada GPUs multiply e4m3 natively (``torch._scaled_mm``); it wants dims % 16 == 0."""
    if not x_MK.is_cuda or not hasattr(torch, "_scaled_mm"):
        return False
    n, k = shape[-2:]
    return torch.cuda.get_device_capability(x_MK.device) >= (8, 9) and n % 16 == 0 == k % 16


def fp8_quantize_rows(x_MK: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic per-row e4m3 activations: ``x ≈ q · s`` with ``s = max|x_row| / 448``."""
    s_M1 = (x_MK.float().abs().amax(-1, keepdim=True) / FP8_MAX).clamp(min=1e-12)
    return (x_MK.float() / s_M1).to(torch.float8_e4m3fn), s_M1


def fp8_scaled_mm(x_MK: torch.Tensor, q_NK: torch.Tensor, s_N: torch.Tensor) -> torch.Tensor:
    """``x @ (q · s).T`` on the FP8 tensor cores: activations quantized per row, the weight per
    output channel (row-wise scaling; the kernel accumulates in float32, writes bfloat16)."""
    xq_MK, sx_M1 = fp8_quantize_rows(x_MK)
    y = torch._scaled_mm(
        xq_MK, q_NK.t(), scale_a=sx_M1, scale_b=s_N.float().view(1, -1), out_dtype=torch.bfloat16
    )
    return y.to(x_MK.dtype)


WEIGHT_TYPES: dict[str, type[QuantWeight]] = {
    "int4": Int4Weight,
    "int8": Int8Weight,
    "fp8": FP8Weight,
}
