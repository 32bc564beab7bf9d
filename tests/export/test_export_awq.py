"""AWQ export of INT4 checkpoints: a plain oracle unpacks the AutoAWQ tensors and must give back
our dequantized weights; transformers runs the result; config fields; refusals by name.

No real AWQ loader runs here: transformers' AWQ path needs ``gptqmodel``, whose install pulls
another torch (2.14 + CUDA; refused: only torch 2.13.0 may be installed), and AutoAWQ's loader
predates transformers 5. So the logits test loads the oracle's dequantized weights into
transformers' float Qwen2-MoE, which checks the names, shapes and folds end to end.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from compass.config import ConfigError
from compass.export.awq import REPORT
from compass.export.awq_layout import dequantize_awq
from compass.export.hf import export_hf
from compass.model.config import ModelConfig
from compass.model.io import save_model
from compass.model.transformer import CompassModel
from compass.quant import (
    QuantConfig,
    dequantized_model,
    load_quantized,
    quantize_model,
    save_quantized,
)
from tests.reference.models import MICRO_MOE

transformers = pytest.importorskip("transformers")

# The documented AutoAWQ GEMM pack order: nibble slot j of a word holds column 8c + ORDER[j].
ORDER = [0, 2, 4, 6, 1, 3, 5, 7]
MICRO = MICRO_MOE | {"init_std": 0.1}
G = 32


pytestmark = pytest.mark.usefixtures("one_thread")


def oracle_unpack(packed: torch.Tensor) -> torch.Tensor:
    """int32 [R, C/8] -> codes [R, C], one word and one nibble at a time."""
    rows = packed.tolist()
    out = [[0] * (8 * len(rows[0])) for _ in rows]
    for r, words in enumerate(rows):
        for c, word in enumerate(words):
            word &= 0xFFFFFFFF  # the int32 is a bit pattern
            for slot in range(8):
                out[r][8 * c + ORDER[slot]] = (word >> (4 * slot)) & 0xF
    return torch.tensor(out, dtype=torch.float32)


def oracle_weight(t: dict, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(float32 weight [out, in] in nn.Linear order, the step s of each element)."""
    q, z = oracle_unpack(t[name + ".qweight"]), oracle_unpack(t[name + ".qzeros"])
    s = t[name + ".scales"].float()
    group = q.shape[0] // s.shape[0]
    w = torch.empty_like(q)
    step = torch.empty_like(q)
    for i in range(q.shape[0]):  # w[i, o] = (q[i, o] - z[i // g, o]) * s[i // g, o]
        w[i] = (q[i] - z[i // group]) * s[i // group]
        step[i] = s[i // group]
    return w.t(), step.t()


def _quantized(tmp_path, method: str, seed: int = 0, fold: bool = False, **model_kw):
    # Unfolded by default: these tests cover the export's own folding and re-quantization of
    # per-weight input scales; the folded quantizer's exact export is tested with fold=True.
    m = CompassModel(ModelConfig(**(MICRO | model_kw)))
    m.init_weights(seed)
    cfg = QuantConfig(method=method, group_size=G, awq_grid=4, calib_max_rows=256, awq_fold=fold)
    calib = torch.randint(0, 256, (4, 32), generator=torch.Generator().manual_seed(seed))
    quantize_model(m.eval(), cfg, calib if method == "awq-int4" else None)
    return m


def _save_export(tmp_path, model, dtype=None):
    save_quantized(model, tmp_path / "q")
    out = export_hf(tmp_path / "q", tmp_path / "hf", dtype=dtype)
    return load_quantized(tmp_path / "q"), load_file(str(out / "model.safetensors")), out


def _scale(w):
    return None if w.input_scale is None or bool(torch.all(w.input_scale == 1)) else w.input_scale


def expected_linears(model: CompassModel, n_rep: int):
    """(HF name, our dequantized weight moved through the documented folds, own input scale).

    Folds: o_proj's input scale into v_proj rows (when equal over the query heads of a KV head),
    each down projection's into its up projection's rows, and the shared down projection ×2.
    """
    cfg = model.config
    for i, layer in enumerate(model.layers):
        p, a = f"model.layers.{i}.", layer.attn
        s_o, v = _scale(a.o_proj.weight), a.v_proj.weight.dequantize()
        o = a.o_proj.weight.dequantize()
        if s_o is not None:
            s_KRd = s_o.view(cfg.n_kv_heads, n_rep, cfg.head_dim)
            if torch.equal(s_KRd, s_KRd[:, :1].expand_as(s_KRd)):
                v, o, s_o = v / s_KRd[:, 0].reshape(-1, 1), o * s_o, None
        yield p + "self_attn.q_proj", a.q_proj.weight.dequantize(), _scale(a.q_proj.weight)
        yield p + "self_attn.k_proj", a.k_proj.weight.dequantize(), _scale(a.k_proj.weight)
        yield p + "self_attn.v_proj", v, _scale(a.v_proj.weight)
        yield p + "self_attn.o_proj", o, s_o
        sh, sp = layer.moe.shared, p + "mlp.shared_expert."
        s_d = _scale(sh.down_proj.weight)
        up, down = sh.up_proj.weight.dequantize(), sh.down_proj.weight.dequantize()
        if s_d is not None:
            up, down = up / s_d[:, None], down * s_d
        yield sp + "gate_proj", sh.gate_proj.weight.dequantize(), _scale(sh.gate_proj.weight)
        yield sp + "up_proj", up, _scale(sh.up_proj.weight)
        yield sp + "down_proj", 2 * down, None
        ex, inner = layer.moe.experts, cfg.expert_dim
        for e in range(cfg.n_routed_experts):
            gu, dn = ex.gate_up_proj.dequantize(e), ex.down_proj.dequantize(e)
            s_gu = None if ex.gate_up_proj.input_scale is None else ex.gate_up_proj.input_scale[e]
            s_dn = None if ex.down_proj.input_scale is None else ex.down_proj.input_scale[e]
            s_gu = None if s_gu is None or bool(torch.all(s_gu == 1)) else s_gu
            gate, up = gu[:inner], gu[inner:]
            if s_dn is not None and not bool(torch.all(s_dn == 1)):
                up, dn = up / s_dn[:, None], dn * s_dn
            ep = f"{p}mlp.experts.{e}."
            yield ep + "gate_proj", gate, s_gu
            yield ep + "up_proj", up, s_gu
            yield ep + "down_proj", dn, None


def test_rtn_int4_export_is_code_for_code(tmp_path):
    """No input scales: every weight, the shared down ×2 included, comes back bit for bit."""
    qmodel, t, out = _save_export(tmp_path, _quantized(tmp_path, "rtn-int4"))
    n = 0
    for name, want, own in expected_linears(qmodel, n_rep=2):
        assert own is None
        got, _ = oracle_weight(t, name)
        assert torch.equal(got, want), name
        parts = (t[f"{name}.{x}"] for x in ("qweight", "qzeros", "scales"))
        assert torch.equal(dequantize_awq(*parts), got), name  # the library reader agrees
        n += 1
    assert n == 2 * (4 + 3 + 3 * MICRO["n_routed_experts"])
    summary = json.loads((out / REPORT).read_text())["summary"]
    assert summary["awq_linears_requantized"] == 0 and summary["awq_exact_max_abs_err"] == 0


@pytest.mark.parametrize("n_kv_heads", [2, 4])  # GQA: o_proj re-quantized; MHA: o folds into v
def test_awq_int4_export_matches_dequantized_weights(tmp_path, n_kv_heads):
    """Every quantized linear against our dequantized weight, within the bound of its tier:
    - codes copied (no own input scale): only the float16 rounding of a rescaled group scale,
      a relative 2^-11 of each weight (+ float32 arithmetic of the fold, far below);
    - re-quantized (an input scale with no exact fold): round-to-nearest at the written step s
      is off by s/2 at most, plus s/2 for the rounded zero point shifting the range: ≤ s."""
    qmodel, t, out = _save_export(tmp_path, _quantized(tmp_path, "awq-int4", n_kv_heads=n_kv_heads))
    report = json.loads((out / REPORT).read_text())["linears"]
    tiers = {"exact": 0, "requantized": 0}
    for name, want, own in expected_linears(qmodel, n_rep=4 // n_kv_heads):
        got, step = oracle_weight(t, name)
        err = (got - want).abs()
        if own is None:
            bound = want.abs() * 2.0**-11 + 1e-6 * float(want.abs().max())
            tiers["exact"] += 1
        else:
            bound = step * (1 + 2.0**-10)
            tiers["requantized"] += 1
        assert bool((err <= bound).all()), f"{name}: max err {float(err.max()):.3g}"
        assert report[name]["exact"] == (own is None), name
    assert tiers["exact"] >= 2 * (MICRO["n_routed_experts"] + 1)  # every down projection
    if n_kv_heads == 4:
        assert all(report[f"model.layers.{i}.self_attn.o_proj"]["exact"] for i in range(2))


def test_transformers_runs_the_dequantized_export(tmp_path):
    """Folds end to end: with the scales of q/k/v and gate/up set to one (nothing re-quantized)
    and random ones on o_proj (MHA, folds into v) and every down projection (fold into up),
    transformers' Qwen2-MoE on the oracle's weights gives our dequantized model's logits."""
    qm = _quantized(tmp_path, "awq-int4", n_kv_heads=4)
    gen = torch.Generator().manual_seed(1)
    for layer in qm.layers:
        for w in (
            layer.attn.q_proj.weight,
            layer.attn.k_proj.weight,
            layer.attn.v_proj.weight,
            layer.moe.shared.gate_proj.weight,
            layer.moe.shared.up_proj.weight,
            layer.moe.experts.gate_up_proj,
        ):
            w.input_scale.fill_(1.0)
        for w in (
            layer.attn.o_proj.weight,
            layer.moe.shared.down_proj.weight,
            layer.moe.experts.down_proj,
        ):
            w.input_scale.copy_(torch.rand(w.input_scale.shape, generator=gen) + 0.5)
    qmodel, t, out = _save_export(tmp_path, qm, dtype="float32")
    summary = json.loads((out / REPORT).read_text())["summary"]
    assert summary["awq_linears_requantized"] == 0
    names = {k.rsplit(".", 1)[0] for k in t if k.endswith(".qweight")}
    floats = {k: v for k, v in t.items() if not k.endswith((".qweight", ".qzeros", ".scales"))}
    floats |= {f"{n}.weight": oracle_weight(t, n)[0].contiguous() for n in names}
    hf_dir = tmp_path / "hf_float"
    hf_dir.mkdir()
    save_file(floats, str(hf_dir / "model.safetensors"))
    config = json.loads((out / "config.json").read_text())
    config.pop("quantization_config")
    (hf_dir / "config.json").write_text(json.dumps(config))
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(
        hf_dir, dtype=torch.float32, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    hf.eval()
    ids = torch.randint(0, 256, (2, 24), generator=gen)
    with torch.no_grad():
        ref = dequantized_model(qmodel)(ids).logits_BTV
        got = hf(ids).logits
    # Folded weights differ from ours by float16 rounding of rescaled scales (2^-11 relative).
    assert float((got - ref).abs().max()) <= 2e-3 * float(ref.abs().max())


def test_config_and_float_modules(tmp_path):
    _, t, out = _save_export(tmp_path, _quantized(tmp_path, "rtn-int4"))
    qc = json.loads((out / "config.json").read_text())["quantization_config"]
    assert qc == {
        "quant_method": "awq",
        "bits": 4,
        "group_size": G,
        "zero_point": True,
        "version": "gemm",
        "modules_to_not_convert": ["lm_head", "mlp.gate", "mlp.shared_expert_gate"],
    }
    for float_name in (
        "lm_head.weight",
        "model.embed_tokens.weight",
        "model.norm.weight",
        "model.layers.0.mlp.gate.weight",
        "model.layers.1.mlp.shared_expert_gate.weight",
        "model.layers.0.self_attn.q_proj.bias",
    ):
        assert t[float_name].dtype == torch.float16, float_name
    assert not any(
        k.startswith(("lm_head.", "model.layers.0.mlp.gate.")) and "qweight" in k for k in t
    )
    D, inner = MICRO["d_model"], MICRO["expert_dim"]
    p = "model.layers.1.mlp.experts.3.down_proj"
    assert t[p + ".qweight"].shape == (inner, D // 8) and t[p + ".qweight"].dtype == torch.int32
    assert t[p + ".qzeros"].shape == (inner // G, D // 8) and t[p + ".qzeros"].dtype == torch.int32
    assert t[p + ".scales"].shape == (inner // G, D) and t[p + ".scales"].dtype == torch.float16
    assert not any(".weight" in k and "proj" in k for k in t)  # no float copy of a quantized one


def test_refusals_name_the_fix(tmp_path):
    from compass.export.awq import write_awq_weights

    m = CompassModel(ModelConfig(**MICRO))
    m.init_weights(0)
    save_model(m, tmp_path / "float")
    with pytest.raises(ConfigError, match="--method awq-int4"):
        write_awq_weights(tmp_path / "float", tmp_path / "o1")
    quantize_model(m.eval(), QuantConfig(method="fp8"))
    save_quantized(m, tmp_path / "fp8")
    with pytest.raises(ConfigError, match="only awq-int4 / rtn-int4"):
        export_hf(tmp_path / "fp8", tmp_path / "o2")
    # group 64 divides d_model=64 but not expert_dim=32 (quantized with group 32 instead)
    m = CompassModel(ModelConfig(**(MICRO | {"expert_dim": 32})))
    m.init_weights(0)
    quantize_model(m.eval(), QuantConfig(method="rtn-int4", group_size=64))
    save_quantized(m, tmp_path / "mixed")
    with pytest.raises(ConfigError, match=r"--quant.group_size=G .*e\.g\. 32"):
        export_hf(tmp_path / "mixed", tmp_path / "o3")
