"""Quantized CompassModel: experts parity, untouched head/router, save/load, mismatch errors."""

import copy
import json

import pytest
import torch

from compass.config import ConfigError
from compass.model.config import ModelConfig
from compass.model.moe.experts import RoutedExperts
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, load_checkpoint, load_quantized, quantize_model
from compass.quant.io import save_quantized
from compass.quant.modules import QuantLinear, QuantRoutedExperts
from compass.quant.weights import KERNEL_MAX_ROWS, WEIGHT_TYPES
from tests.reference.models import MICRO_MOE


def _model(seed=0, **kw):
    m = CompassModel(ModelConfig(**(MICRO_MOE | kw)))
    m.init_weights(seed)
    return m.eval()


def _cfg(method, **kw):
    return QuantConfig(method=method, group_size=32, awq_grid=4, calib_max_rows=256, **kw)


@pytest.mark.parametrize("fmt", ["int4", "int8", "fp8"])
@pytest.mark.parametrize("n_tokens", [3, 2400])  # packed kernels; dequantize (rows > max)
def test_quant_experts_equal_float_experts_on_dequantized_weights(fmt, n_tokens):
    torch.manual_seed(0)
    E, D, I, k = 4, 64, 64, 2
    gu, dn = torch.randn(E, 2 * I, D) * 0.05, torch.randn(E, D, I) * 0.05
    s_gu, s_dn = torch.rand(E, D) + 0.5, torch.rand(E, I) + 0.5  # AWQ-style input scales
    cls = WEIGHT_TYPES[fmt]
    q = QuantRoutedExperts(cls.from_float(gu, 32, s_gu), cls.from_float(dn, 32, s_dn))
    ref = RoutedExperts(E, D, I, impl="loop")
    with torch.no_grad():
        ref.gate_up_proj.copy_(q.gate_up_proj.dequantize())
        ref.down_proj.copy_(q.down_proj.dequantize())
    x = torch.randn(n_tokens, D)
    w_Nk, e_Nk = torch.softmax(torch.randn(n_tokens, E), -1).topk(k, dim=-1)
    with torch.no_grad():
        y, y_ref = q(x, w_Nk, e_Nk), ref(x, w_Nk, e_Nk)
    counts = torch.bincount(e_Nk.flatten(), minlength=E).tolist()
    kernel = fmt != "fp8" and any(0 < c <= KERNEL_MAX_ROWS for c in counts)
    assert kernel == (n_tokens == 3 and fmt != "fp8")  # both paths are exercised
    tol = 2e-2 if kernel else 1e-5  # packed kernels take bfloat16 activations
    assert float((y - y_ref).abs().max()) <= tol * float(y_ref.abs().max())


@pytest.mark.parametrize("method", ["awq-int4", "awq-int4-fold", "rtn-int4", "int8", "fp8"])
def test_head_and_router_untouched_and_logits_close(method, calib):
    m = _model()
    fold = method.endswith("-fold")  # folding rescales the float router (test_quant_awq_fold.py)
    cfg = _cfg(method.removesuffix("-fold"), awq_fold=fold)
    q = quantize_model(copy.deepcopy(m), cfg, calib)
    assert type(q.lm_head) is torch.nn.Linear and torch.equal(q.lm_head.weight, m.lm_head.weight)
    for lq, lf in zip(q.layers, m.layers):
        assert type(lq.moe.router.weight) is torch.nn.Parameter
        assert lq.moe.router.weight.dtype == torch.float32
        assert fold or torch.equal(lq.moe.router.weight, lf.moe.router.weight)
        assert isinstance(lq.attn.q_proj, QuantLinear)
        assert isinstance(lq.moe.shared.down_proj, QuantLinear)
        assert isinstance(lq.moe.experts, QuantRoutedExperts)
    assert not any(isinstance(p, torch.nn.Linear) for p in q.layers.modules())
    ids = calib[:2]
    with torch.no_grad():
        lf, lq = m(ids).logits_BTV, q(ids).logits_BTV
    rel = float((lq - lf).norm() / lf.norm())
    assert rel < {"fp8": 0.05, "int8": 0.02}.get(method, 0.2)


def test_save_load_round_trip_and_mismatch(calib, tmp_path):
    q = quantize_model(_model(), _cfg("awq-int4"), calib)
    save_quantized(q, tmp_path / "q")
    meta = json.loads((tmp_path / "q" / "quantization_config.json").read_text())
    assert meta["quant_method"] == "awq-int4" and meta["group_size"] == 32
    r = load_quantized(tmp_path / "q")
    sd_q, sd_r = q.state_dict(), r.state_dict()
    assert sd_q.keys() == sd_r.keys() and all(torch.equal(sd_q[k], sd_r[k]) for k in sd_q)
    ids = calib[:2, :5]
    with torch.no_grad():  # 10 rows: the packed-kernel path, so its prepared tensors are tested
        torch.testing.assert_close(r(ids).logits_BTV, q(ids).logits_BTV, rtol=0, atol=0)
    assert isinstance(load_checkpoint(tmp_path / "q").layers[0].moe.experts, QuantRoutedExperts)
    bad = ModelConfig(**(MICRO_MOE | {"expert_dim": 32}))
    with pytest.raises(
        ConfigError, match=r"experts\.gate_up_proj\.qweight.*\(4, 128, 32\).*\(4, 64, 32\)"
    ):
        load_quantized(tmp_path / "q", model_config=bad)


def test_awq_beats_rtn_on_model_outputs(calib):
    """End to end on a model whose residual stream has outlier channels (as trained LMs do)."""
    m = _model(seed=3)
    with torch.no_grad():
        for layer in m.layers:
            layer.attn_norm.weight[:3] = 25.0
            layer.moe_norm.weight[:3] = 25.0
    ids = torch.randint(0, 256, (2, 32), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        ref = m(ids).logits_BTV
        errs = {}
        for method in ("awq-int4", "rtn-int4"):
            q = quantize_model(copy.deepcopy(m), _cfg(method), calib)
            errs[method] = float((q(ids).logits_BTV - ref).pow(2).mean())
    assert errs["awq-int4"] < errs["rtn-int4"]


def test_quantized_model_generates_with_kv_cache(calib):
    """The drop-in contract: cached greedy decoding works and equals uncached decoding."""
    from compass.model.generate import greedy_generate

    q = quantize_model(_model(seed=5), _cfg("rtn-int4"), calib)
    prompt = calib[0, :6].tolist()
    cached = greedy_generate(q, prompt, 6, use_cache=True)
    assert cached == greedy_generate(q, prompt, 6, use_cache=False)
    assert q.num_parameters()["embedding"] == 256 * 64


def test_tied_embeddings_stay_float_and_round_trip(calib, tmp_path):
    q = quantize_model(_model(tie_embeddings=True), _cfg("rtn-int4"), calib)
    assert isinstance(q.embed, torch.nn.Embedding) and q.lm_head.weight is q.embed.weight
    save_quantized(q, tmp_path / "t")
    r = load_quantized(tmp_path / "t")
    assert r.lm_head.weight is r.embed.weight
    with torch.no_grad():
        torch.testing.assert_close(r(calib[:1]).logits_BTV, q(calib[:1]).logits_BTV, rtol=0, atol=0)
