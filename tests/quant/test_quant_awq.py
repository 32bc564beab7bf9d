"""AWQ's scale search against round-to-nearest on a layer with outlier input channels."""

import torch

from compass.quant import int4
from compass.quant.awq import search_clip, search_scale
from compass.quant.weights import Int4Weight


def _layer_with_outliers(seed: int):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(64, 128, generator=g) * 0.05
    chan = torch.ones(128)
    chan[torch.randperm(128, generator=g)[:4]] = 40.0  # a few salient channels, as in LLMs
    x_cal = torch.randn(512, 128, generator=g) * chan
    x_test = torch.randn(512, 128, generator=g) * chan
    return w, x_cal, x_test


def test_awq_beats_rtn_on_outlier_channels():
    w, x_cal, x_test = _layer_with_outliers(0)

    def fq(v):
        return int4.dequantize_int4(int4.quantize_int4(v, 32))

    res = search_scale(w, x_cal, fq, n_grid=20)
    assert res.alpha > 0 and res.err < 0.7 * res.err_rtn
    y = x_test @ w.t()
    rtn = Int4Weight.from_float(w, 32)
    awq = Int4Weight.from_float(w, 32, input_scale=res.scale_K)
    err_rtn = float((x_test @ rtn.dequantize().t() - y).pow(2).mean())
    err_awq = float((x_test @ awq.dequantize().t() - y).pow(2).mean())
    assert err_awq < 0.7 * err_rtn  # held-out activations, not the calibration ones


def test_awq_never_worse_than_rtn_on_calibration_data():
    g = torch.Generator().manual_seed(1)
    w, x = torch.randn(32, 64, generator=g), torch.randn(256, 64, generator=g)

    def fq(v):
        return int4.dequantize_int4(int4.quantize_int4(v, 32))

    res = search_scale(w, x, fq, n_grid=10)
    assert res.err <= res.err_rtn
    rtn_err = float((x @ fq(w).t() - x @ w.t()).pow(2).mean())
    torch.testing.assert_close(torch.tensor(res.err_rtn), torch.tensor(rtn_err), rtol=1e-4, atol=0)


def test_clip_search_helps_groups_with_outlier_weights():
    g = torch.Generator().manual_seed(2)
    w = torch.randn(64, 128, generator=g) * 0.02
    w[torch.rand(64, 128, generator=g) < 0.01] *= 12  # rare large weights stretch their group
    x = torch.randn(512, 128, generator=g)

    def fq(v):
        return int4.dequantize_int4(int4.quantize_int4(v, 32))

    clipped = search_clip(w, x, fq, group=32, n_grid=20)
    assert clipped.abs().max() <= w.abs().max()
    err_plain = float((x @ (fq(w) - w).t()).pow(2).mean())
    err_clip = float((x @ (fq(clipped) - w).t()).pow(2).mean())
    assert err_clip < err_plain
