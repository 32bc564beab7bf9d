"""One INT4 weight in AutoAWQ's "GEMM" layout: what vLLM's ``awq`` and transformers' AWQ read.

Per linear ``W [N out, K in]``, group size ``g``, ``G = K / g`` groups (transposed relative to
``nn.Linear``'s ``[N, K]``):
- ``qweight`` int32 ``[K, N/8]``: eight 4-bit codes per int32; nibble slot ``j`` (bits 4j..4j+3)
  of word ``c`` holds output column ``8c + AWQ_ORDER[j]``, the interleave AutoAWQ's GEMM kernel
  unpacks in (unpackers undo it with the inverse order 0,4,1,5,2,6,3,7);
- ``qzeros`` int32 ``[G, N/8]``: integer zero points, packed the same way;
- ``scales`` float16 ``[G, N]``;
- ``W[n, k] = (q[k, n] - z[k // g, n]) · s[k // g, n]``.

Our INT4 scheme (``compass/quant/int4.py``) is AWQ's own: the same codes, integer zero points and
float16 scales, so a weight is copied code for code. What has no place in the format is our AWQ
``input_scale`` (inputs divided per channel): see ``awq.py`` for how each one is folded away, or,
where no exact fold exists, how the weight is re-quantized.

Legend: N output channels, K input channels, G groups along K.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from compass.quant import int4

AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
PACK = 8  # 4-bit values per int32


@dataclass
class QLinear:
    """One of our INT4 weights, unpacked: what every conversion below starts from."""

    codes: torch.Tensor  # uint8 [N, K] in [0, 15]
    zeros: torch.Tensor  # uint8 [N, G]
    scales: torch.Tensor  # float16 [N, G]
    input_scale: torch.Tensor | None  # float32 [K]; None when there is none (or all ones)

    @property
    def group(self) -> int:
        return self.codes.shape[-1] // self.scales.shape[-1]

    def effective(self) -> torch.Tensor:
        """The float32 weight our model multiplies by: ``(q - z)·s / input_scale``."""
        w = _dequant(self.codes, self.zeros, self.scales)
        return w if self.input_scale is None else w / self.input_scale

    def rows(self, start: int, stop: int) -> QLinear:
        """Output rows ``start:stop`` (groups run along K, so any row slice keeps them whole)."""
        return QLinear(
            self.codes[start:stop],
            self.zeros[start:stop],
            self.scales[start:stop],
            self.input_scale,
        )


def qlinear(
    qweight: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor,
    input_scale: torch.Tensor | None,
) -> QLinear:
    """A ``QLinear`` from our stored buffers (``compass/quant/io.py``); unit input scales
    (AWQ chose alpha = 0, or the weight saw no calibration rows) count as none."""
    if input_scale is not None and bool(torch.all(input_scale == 1)):
        input_scale = None
    return QLinear(int4.unpack_nibbles(qweight), zeros, scales, input_scale)


def _dequant(codes: torch.Tensor, zeros: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    g = codes.shape[-1] // scales.shape[-1]
    z = zeros.float().repeat_interleave(g, dim=-1)
    return (codes.float() - z) * scales.float().repeat_interleave(g, dim=-1)


def pack_awq(v_RC: torch.Tensor) -> torch.Tensor:
    """Values in [0, 15] ``[R, C]`` -> int32 ``[R, C/8]`` in AWQ's interleaved order."""
    r, c = v_RC.shape
    if c % PACK:
        raise ValueError(f"cannot pack {c} columns into int32 words of {PACK} (not a multiple)")
    v = v_RC.to(torch.int64).reshape(r, c // PACK, PACK)
    word = torch.zeros(r, c // PACK, dtype=torch.int64)
    for slot, col in enumerate(AWQ_ORDER):
        word |= v[..., col] << (4 * slot)
    # The top nibble can set bit 31: store the same 32 bits as a (negative) int32.
    word = torch.where(word >= 2**31, word - 2**32, word)
    return word.to(torch.int32)


@dataclass
class AwqTensors:
    qweight: torch.Tensor  # int32 [K, N/8]
    qzeros: torch.Tensor  # int32 [G, N/8]
    scales: torch.Tensor  # float16 [G, N]
    exact: bool  # codes copied (only scales may have been rescaled), not re-quantized
    max_err: float  # max |written - target| over the weight (see to_awq)
    max_abs: float  # max |target|, to read max_err against


def to_awq(lin: QLinear, row_scale: torch.Tensor | None = None) -> AwqTensors:
    """AWQ tensors for ``target = diag(row_scale) · lin.effective()``.

    Without an input scale the codes are copied and ``row_scale`` multiplies the group scales of
    each output row: exact but for the float16 rounding of the new scales (a relative 2^-11 at
    most per weight). With one, no group-wise form holds ``1 / input_scale`` (it differs inside a
    group), so the target is re-quantized round-to-nearest at the same group size.
    """
    target = lin.effective()
    if row_scale is not None:
        target = target * row_scale[:, None]
    if lin.input_scale is None:
        codes, zeros = lin.codes, lin.zeros
        scales = lin.scales if row_scale is None else (lin.scales * row_scale[:, None]).half()
    else:
        t = int4.quantize_int4(target, lin.group)
        codes, zeros, scales = int4.unpack_nibbles(t.qweight), t.zeros, t.scales
    if not bool(torch.isfinite(scales).all()):
        raise ValueError("a group scale overflows float16 after folding; cannot write AWQ")
    err = (_dequant(codes, zeros, scales) - target).abs().max()
    return AwqTensors(
        qweight=pack_awq(codes.t()),
        qzeros=pack_awq(zeros.t()),
        scales=scales.t().contiguous(),
        exact=lin.input_scale is None,
        max_err=float(err),
        max_abs=float(target.abs().max()),
    )


def unpack_awq(packed_RW: torch.Tensor) -> torch.Tensor:
    """int32 ``[R, C/8]`` -> codes ``[R, C]`` (int64), the inverse of :func:`pack_awq`."""
    word = packed_RW.to(torch.int64) & 0xFFFFFFFF
    slots = [(word >> (4 * slot)) & 0xF for slot in range(PACK)]
    cols = [slots[AWQ_ORDER.index(c)] for c in range(PACK)]  # column c sits in slot ORDER⁻¹[c]
    return torch.stack(cols, dim=-1).reshape(packed_RW.shape[0], -1)


def dequantize_awq(
    qweight: torch.Tensor, qzeros: torch.Tensor, scales: torch.Tensor
) -> torch.Tensor:
    """The float32 weight ``[N, K]`` (``nn.Linear`` order) of one AWQ GEMM linear."""
    q, z = unpack_awq(qweight).float(), unpack_awq(qzeros).float()
    g = q.shape[0] // scales.shape[0]
    w_KN = (q - z.repeat_interleave(g, dim=0)) * scales.float().repeat_interleave(g, dim=0)
    return w_KN.t().contiguous()
