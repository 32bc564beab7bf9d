"""GGUF export: every tensor round-trips through the gguf package's reader."""

import gguf
import numpy as np
import pytest
import torch

from compass.export.gguf import export_gguf, gguf_tensors, read_field, read_gguf
from compass.model.config import ModelConfig
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, quantize_model
from tests.reference.models import MICRO_MOE


@pytest.fixture(scope="module")
def model():
    m = CompassModel(ModelConfig(**MICRO_MOE))
    m.init_weights(0)
    return m.eval()


def test_f32_round_trip_exact(model, tmp_path):
    path = export_gguf(model, tmp_path / "m.gguf", "f32")
    arrays, _ = read_gguf(path)
    expected = dict(gguf_tensors(model))
    assert arrays.keys() == expected.keys()
    assert len(arrays) == 3 + 2 * 17  # embd, output_norm, output + 17 per block
    for name, arr in expected.items():
        np.testing.assert_array_equal(arrays[name], arr, err_msg=name)
    assert arrays["blk.0.ffn_gate_exps.weight"].shape == (4, 64, 64)
    np.testing.assert_array_equal(
        arrays["blk.1.ffn_down_shexp.weight"],
        2 * model.layers[1].moe.shared.down_proj.weight.detach(),
    )
    assert read_field(path, "general.architecture") == "qwen2moe"
    assert read_field(path, "qwen2moe.expert_count") == 4
    assert read_field(path, "qwen2moe.expert_used_count") == 2


@pytest.mark.parametrize("kind", ["q8_0", "q4_1"])
def test_quantized_round_trip(model, tmp_path, kind):
    path = export_gguf(model, tmp_path / f"m-{kind}.gguf", kind)
    arrays, types = read_gguf(path)
    qtype = getattr(gguf.GGMLQuantizationType, kind.upper())
    assert types["blk.0.attn_q.weight"] == kind.upper()
    assert types["blk.0.ffn_gate_inp.weight"] == "F32"  # router kept float
    assert types["output.weight"] == "F16"  # head kept float
    for name, arr in gguf_tensors(model):
        if types[name] == kind.upper():
            ref = gguf.quants.dequantize(gguf.quants.quantize(arr, qtype), qtype)
            np.testing.assert_array_equal(arrays[name], ref, err_msg=name)
            rel = np.linalg.norm(arrays[name] - arr) / np.linalg.norm(arr)
            assert rel < (0.01 if kind == "q8_0" else 0.12), (name, rel)


def test_quantized_checkpoint_exports_dequantized_weights(model, tmp_path):
    import copy

    q = quantize_model(copy.deepcopy(model), QuantConfig(method="rtn-int4", group_size=32))
    arrays, _ = read_gguf(export_gguf(q, tmp_path / "q.gguf", "f32"))
    gate = q.layers[0].moe.experts.gate_up_proj.dequantize()[:, :64]
    np.testing.assert_array_equal(arrays["blk.0.ffn_gate_exps.weight"], gate.numpy())
    torch.testing.assert_close(
        torch.tensor(arrays["blk.0.attn_k.weight"]), q.layers[0].attn.k_proj.weight.dequantize()
    )
