"""INT4 / INT8 / FP8 weight formats against plain per-element reference implementations."""

import pytest
import torch

from compass.quant import int4
from compass.quant.weights import (
    KERNEL_MAX_ROWS,
    FP8Weight,
    Int4Weight,
    Int8Weight,
    fp8_kernel_ok,
    fp8_quantize_rows,
    fp8_scaled_mm,
)


def _ref_int4(w, g):
    """Plain llm-awq pseudo-quantization, one group at a time."""
    n, k = w.shape
    q = torch.zeros(n, k, dtype=torch.uint8)
    scales = torch.zeros(n, k // g, dtype=torch.float16)
    zeros = torch.zeros(n, k // g, dtype=torch.uint8)
    for r in range(n):
        for j in range(k // g):
            blk = w[r, j * g : (j + 1) * g]
            s = torch.tensor(max(float(blk.max() - blk.min()), 1e-5) / 15).half().float()
            z = min(max(round(float(-blk.min() / s)), 0), 15)
            for c in range(g):
                q[r, j * g + c] = min(max(round(float(blk[c] / s)) + z, 0), 15)
            scales[r, j], zeros[r, j] = s.half(), z
    return q, scales, zeros


def test_int4_matches_plain_reference_and_error_bound():
    torch.manual_seed(0)
    w = torch.randn(16, 64) * 0.05
    t = int4.quantize_int4(w, 32)
    q, s, z = _ref_int4(w, 32)
    torch.testing.assert_close(int4.unpack_nibbles(t.qweight), q, rtol=0, atol=1)
    assert (int4.unpack_nibbles(t.qweight) != q).float().mean() < 0.01  # only .5 ties differ
    assert torch.equal(t.scales, s) and torch.equal(t.zeros, z)
    err = (int4.dequantize_int4(t) - w).abs().reshape(16, 2, 32)
    step = t.scales.float()[..., None]
    # Round-to-nearest error is half a step, plus the zero point's rounding (half a step).
    assert bool((err <= step * 1.0 + 1e-6).all())
    assert float((int4.dequantize_int4(t) - w).pow(2).mean().sqrt()) < 0.35 * float(step.mean())


def test_nibble_packing_round_trip_and_layout():
    q = torch.randint(0, 16, (3, 5, 8), dtype=torch.uint8)
    p = int4.pack_nibbles(q)
    assert p.shape == (3, 5, 4)
    assert torch.equal(p[..., 0] & 0xF, q[..., 0]) and torch.equal(p[..., 0] >> 4, q[..., 1])
    assert torch.equal(int4.unpack_nibbles(p), q)


@pytest.mark.parametrize("shape,g", [((64, 128), 32), ((32, 256), 128), ((3, 48, 64), 32)])
def test_int4_kernel_equals_dequantized_matmul(shape, g):
    torch.manual_seed(1)
    w = torch.randn(*shape) * 0.02
    qw = Int4Weight.from_float(w, g)
    assert qw._kernel is not None
    e = 1 if len(shape) == 3 else None
    x = torch.randn(KERNEL_MAX_ROWS, shape[-1])
    y = qw.linear(x, e)
    # Exact oracle for the kernel: the same bf16-rounded activations, scales and offsets.
    _, sz = qw._kernel[e or 0]
    s, m = sz[..., 0].float().t(), sz[..., 1].float().t()
    q = int4.unpack_nibbles(qw.qweight[e] if e is not None else qw.qweight).float()
    w_k = ((q.reshape(shape[-2], -1, g) - 8) * s[..., None] + m[..., None]).reshape(shape[-2:])
    ref = x.bfloat16().double() @ w_k.double().t()
    torch.testing.assert_close(y.double(), ref, rtol=8e-3, atol=1e-4 * float(ref.abs().max()))
    # And against the canonical dequantized weight in float32 (the dequantize path).
    y_dq = x @ qw.dequantize(e).t()
    assert float((y - y_dq).abs().max()) < 0.02 * float(y_dq.abs().max())
    big = torch.randn(KERNEL_MAX_ROWS + 1, shape[-1])
    torch.testing.assert_close(qw.linear(big, e), big @ qw.dequantize(e).t())


def test_int8_error_bound_and_kernel():
    torch.manual_seed(2)
    w = torch.randn(48, 64)
    qw = Int8Weight.from_float(w)
    err = (qw.dequantize() - w).abs()
    assert bool((err <= qw.scales[:, None] / 2 + 1e-7).all())
    x = torch.randn(4, 64)
    ref = x @ qw.dequantize().t()
    assert float((qw.linear(x) - ref).abs().max()) < 0.01 * float(ref.abs().max())
    big = torch.randn(KERNEL_MAX_ROWS + 3, 64)
    torch.testing.assert_close(qw.linear(big), big @ qw.dequantize().t())


def test_fp8_relative_error():
    torch.manual_seed(3)
    w = torch.randn(2, 32, 64)
    qw = FP8Weight.from_float(w)
    assert qw.qweight.dtype == torch.float8_e4m3fn
    err = (qw.dequantize() - w).abs()
    # e4m3 keeps 3 mantissa bits: relative error <= 2^-4 for normal values; subnormals (below
    # 2^-6 · scale) round to a 2^-9 · scale grid.
    bound = torch.maximum(w.abs() / 16, qw.scales[..., None] * 2.0**-9)
    assert bool((err <= bound + 1e-9).all())


def test_fp8_scaled_mm_matches_w8a8_oracle():
    """The GPU path (torch._scaled_mm, row-wise scales) against plain float math on the same
    e4m3 activations and weights; PyTorch's CPU build runs the same op, so this runs here."""
    torch.manual_seed(5)
    w, x = torch.randn(48, 64), torch.randn(7, 64) * 3
    qw = FP8Weight.from_float(w)
    xq, sx = fp8_quantize_rows(x)
    assert xq.dtype == torch.float8_e4m3fn and sx.shape == (7, 1)
    oracle = (xq.float() * sx) @ (qw.qweight.float() * qw.scales[:, None]).t()
    y = fp8_scaled_mm(x, qw.qweight, qw.scales)
    assert y.dtype == x.dtype
    # the kernel writes bfloat16: within half a bf16 ulp (2^-8 relative) of the float oracle
    torch.testing.assert_close(y, oracle, rtol=2**-8, atol=1e-3)
    # and W8A8 stays close to the float product (activation + weight rounding, ~2^-4 each)
    assert float((y - x @ w.t()).abs().max()) < 0.1 * float((x @ w.t()).abs().max())
    assert not fp8_kernel_ok(x, qw.shape)  # CPU tensors keep the upcast path in linear()


def test_awq_input_scale_is_exact_reparametrisation():
    torch.manual_seed(4)
    w, s = torch.randn(32, 64), torch.rand(64) + 0.5
    qw = Int4Weight.from_float(w, 32, input_scale=s)
    x = torch.randn(KERNEL_MAX_ROWS + 1, 64)
    torch.testing.assert_close(qw.linear(x), x @ qw.dequantize().t(), rtol=1e-5, atol=1e-5)
    stored = int4.dequantize_int4(qw.tensors())
    torch.testing.assert_close(qw.dequantize(), stored / s)
