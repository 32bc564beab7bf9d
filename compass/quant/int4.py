"""Group-wise asymmetric INT4: quantize, dequantize, nibble packing, PyTorch's CPU int4 kernel.

Every function works on weights with any leading dims ``[..., N, K]`` (N outputs, K inputs), so
one code path serves ``nn.Linear`` weights ``[N, K]`` and stacked routed experts ``[E, N, K]``.

The scheme is llm-awq's: per group of ``g`` consecutive input channels,
``s = (max - min) / 15``, integer zero point ``z = clamp(round(-min / s), 0, 15)``,
``q = clamp(round(w / s) + z, 0, 15)`` and ``w ≈ (q - z) · s``. Scales are stored in float16 and
zero points as integers: the AWQ layout transformers/vLLM read, and GGUF's Q4_1 is one formula away.

On disk, two 4-bit values share a byte: column ``2j`` in the low nibble, ``2j+1`` in the high one
(a portable layout). At load time it is converted to the layout PyTorch's CPU int4 matmul wants
(``_convert_weight_to_int4pack_for_cpu``), which is an implementation detail of that kernel.

Legend: N output channels, K input channels, G = K / g groups, M activation rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

QMAX = 15
KERNEL_GROUPS = (32, 64, 128, 256)


@dataclass
class Int4Tensors:
    qweight: torch.Tensor  # uint8 [..., N, K/2], two values per byte
    scales: torch.Tensor  # float16 [..., N, G]
    zeros: torch.Tensor  # uint8 [..., N, G], integer zero points in [0, 15]


def effective_group_size(k: int, group_size: int) -> int:
    """``group_size`` when it divides K, else the largest of 256/128/64/32 that does.

    Tiny models have K = 64 or 128, where a 128 group would be per-channel quantization; the
    recipe sets a smaller group for them, and this only rescues shapes that no configured size fits.
    """
    if k % group_size == 0:
        return group_size
    for g in sorted(KERNEL_GROUPS, reverse=True):
        if g < group_size and k % g == 0:
            return g
    raise ValueError(
        f"input dim {k} is not a multiple of quant.group_size={group_size} nor of 32 — "
        "choose a group size dividing every input dimension of the model"
    )


def quantize_int4(w: torch.Tensor, group_size: int) -> Int4Tensors:
    """Round-to-nearest asymmetric INT4 of ``w [..., N, K]`` in groups along K."""
    *lead, n, k = w.shape
    g = effective_group_size(k, group_size)
    w_g = w.float().reshape(*lead, n, k // g, g)
    wmax, wmin = w_g.amax(-1), w_g.amin(-1)
    scales = ((wmax - wmin).clamp(min=1e-5) / QMAX).half()
    s = scales.float()
    zeros = torch.clamp(torch.round(-wmin / s), 0, QMAX)
    q = torch.clamp(torch.round(w_g / s[..., None]) + zeros[..., None], 0, QMAX)
    q = q.to(torch.uint8).reshape(*lead, n, k)
    return Int4Tensors(pack_nibbles(q), scales, zeros.to(torch.uint8))


def dequantize_int4(t: Int4Tensors) -> torch.Tensor:
    """The float32 weight ``(q - z) · s`` that every INT4 path approximates or reproduces."""
    q = unpack_nibbles(t.qweight).float()
    *lead, n, k = q.shape
    n_groups = t.scales.shape[-1]
    q_g = q.reshape(*lead, n, n_groups, k // n_groups)
    w = (q_g - t.zeros.float()[..., None]) * t.scales.float()[..., None]
    return w.reshape(*lead, n, k)


def pack_nibbles(q: torch.Tensor) -> torch.Tensor:
    """uint8 values in [0, 15] ``[..., K]`` -> ``[..., K/2]``; even columns in the low nibble."""
    if q.shape[-1] % 2:
        raise ValueError(f"cannot pack an odd number of columns ({q.shape[-1]}) into nibbles")
    q = q.to(torch.uint8)
    return q[..., 0::2] | (q[..., 1::2] << 4)


def unpack_nibbles(p: torch.Tensor) -> torch.Tensor:
    lo, hi = p & 0x0F, p >> 4
    return torch.stack([lo, hi], dim=-1).reshape(*p.shape[:-1], p.shape[-1] * 2)


def kernel_supported(n: int, k: int, g: int) -> bool:
    """Shapes ``_weight_int4pack_mm_for_cpu`` accepts (it checks N % 16 and the group size)."""
    return (
        hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu")
        and n % 16 == 0
        and g in KERNEL_GROUPS
        and k % g == 0
    )


def to_kernel_layout(t: Int4Tensors) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``[N, K]`` weight in the CPU kernel's layout: (packed weight, bf16 scale-and-zero).

    The kernel computes ``w = (q - 8) · s + m`` per group, so our integer zero point becomes the
    float offset ``m = (8 - z) · s``. It reads scale and offset in the activation dtype (bfloat16:
    its vectorised path), which rounds them — the tested tolerance accounts for that.
    """
    q = unpack_nibbles(t.qweight).to(torch.int32).contiguous()
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
    s = t.scales.float()
    m = (8.0 - t.zeros.float()) * s
    scale_zero_GN2 = torch.stack([s, m], dim=-1).transpose(0, 1).contiguous().to(torch.bfloat16)
    return packed, scale_zero_GN2


def kernel_matmul(
    x_MK: torch.Tensor, packed: torch.Tensor, scale_zero: torch.Tensor, group: int
) -> torch.Tensor:
    """``x @ w.T`` with the packed weight, via PyTorch's CPU tinygemm port, in bfloat16.

    float32 activations run the kernel's scalar fallback (slower than a float32 matmul), so they
    go through bfloat16 — the kernel still accumulates in float32.
    """
    y = torch.ops.aten._weight_int4pack_mm_for_cpu(
        x_MK.to(torch.bfloat16), packed, group, scale_zero
    )
    return y.to(x_MK.dtype)
