"""quant.awq_fold: AutoAWQ-style shared scales folded into the float model (awq_fold.py).

The fold must not change the float model's function, leave no input scale on any quantized
weight, still beat round-to-nearest, and make the AWQ-layout export code for code.
"""

from __future__ import annotations

import copy
import json

import pytest
import torch

from compass.model.config import ModelConfig
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, load_quantized, quantize_model, save_quantized
from compass.quant.apply import _fake_quant, capture_activations
from compass.quant.awq_fold import fold_awq_scales
from compass.quant.weights import QuantWeight
from tests.reference.models import MICRO_MOE

MICRO = MICRO_MOE | {"n_kv_heads": 4}  # no GQA here


def _model(seed=3, **kw):
    m = CompassModel(ModelConfig(**(MICRO | kw)))
    m.init_weights(seed)
    with torch.no_grad():  # outlier channels in the residual stream, as trained LMs have
        for layer in m.layers:
            layer.attn_norm.weight[:3] = 25.0
            layer.moe_norm.weight[:3] = 25.0
    return m.eval()


def _cfg(method, **kw):
    return QuantConfig(method=method, group_size=32, awq_grid=4, calib_max_rows=256, **kw)


@pytest.mark.parametrize("n_kv_heads", [4, 2])  # MHA folds o_proj's scale into v; GQA skips it
def test_fold_keeps_the_float_function(calib, n_kv_heads):
    m = _model(n_kv_heads=n_kv_heads)
    folded = copy.deepcopy(m)
    cfg = _cfg("awq-int4", awq_fold=True)
    stats: dict = {}
    fold_awq_scales(folded, capture_activations(folded, calib, cfg), _fake_quant(cfg), 4, stats)
    moved = [k for k, v in m.state_dict().items() if not torch.equal(v, folded.state_dict()[k])]
    assert any("attn_norm" in k for k in moved) and any("moe_norm" in k for k in moved)
    assert any("router" in k for k in moved)  # the float router absorbs the MoE-input scale
    assert ("layers.0.attn.o_proj" in stats) == (n_kv_heads == 4)
    ids = torch.randint(0, 256, (2, 24), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref, got = m(ids).logits_BTV, folded(ids).logits_BTV
    assert float((got - ref).abs().max()) <= 1e-4 * float(ref.abs().max())


def test_folded_awq_has_no_input_scales_and_beats_rtn(calib, tmp_path):
    m = _model()
    ids = torch.randint(0, 256, (2, 32), generator=torch.Generator().manual_seed(9))
    errs = {}
    with torch.no_grad():
        ref = m(ids).logits_BTV
        for name, cfg in {
            "fold": _cfg("awq-int4", awq_fold=True),
            "rtn": _cfg("rtn-int4"),
        }.items():
            q = quantize_model(copy.deepcopy(m), cfg, calib)
            errs[name] = float((q(ids).logits_BTV - ref).pow(2).mean())
            if name == "fold":
                weights = [w for w in q.modules() if isinstance(w, QuantWeight)]
                assert weights and all(w.input_scale is None for w in weights)
                save_quantized(q, tmp_path / "q")
                back = load_quantized(tmp_path / "q")
                assert torch.equal(back(ids).logits_BTV, q(ids).logits_BTV)
    assert errs["fold"] < errs["rtn"]
    meta = json.loads((tmp_path / "q" / "quantization_config.json").read_text())
    assert meta["config"]["awq_fold"] is True


def test_folded_awq_exports_code_for_code(calib, tmp_path):
    from safetensors.torch import load_file

    from compass.export.awq import REPORT
    from compass.export.awq_layout import dequantize_awq
    from compass.export.hf import export_hf

    q = quantize_model(_model(), _cfg("awq-int4", awq_fold=True), calib)
    save_quantized(q, tmp_path / "q")
    out = export_hf(tmp_path / "q", tmp_path / "hf")
    summary = json.loads((out / REPORT).read_text())["summary"]
    assert summary["awq_linears_requantized"] == 0 and summary["awq_exact_max_abs_err"] == 0
    t = load_file(str(out / "model.safetensors"))
    p = "model.layers.1."
    exp = q.layers[1].moe.experts
    for e in range(MICRO["n_routed_experts"]):
        got = dequantize_awq(
            *(t[f"{p}mlp.experts.{e}.up_proj.{x}"] for x in ("qweight", "qzeros", "scales"))
        )
        assert torch.equal(got, exp.gate_up_proj.dequantize(e)[MICRO["expert_dim"] :])
    got = dequantize_awq(*(t[f"{p}self_attn.v_proj.{x}"] for x in ("qweight", "qzeros", "scales")))
    assert torch.equal(got, q.layers[1].attn.v_proj.weight.dequantize())
