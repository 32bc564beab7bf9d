"""``compass quantize`` and ``compass export gguf`` end to end on a micro checkpoint."""

import json

import numpy as np
import pytest
import torch

from compass.cli import main
from compass.config import ConfigError
from compass.export.gguf import read_gguf
from compass.model.config import ModelConfig
from compass.model.io import save_model
from compass.model.transformer import CompassModel
from compass.quant import load_calibration, load_quantized
from compass.quant.modules import QuantRoutedExperts
from tests.reference.models import MICRO_MOE

MICRO = MICRO_MOE | {"n_layers": 1}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    m = CompassModel(ModelConfig(**MICRO))
    m.init_weights(0)
    save_model(m, d / "float")
    ids = np.random.default_rng(0).integers(0, 256, 4000)
    np.save(d / "calib.npy", ids)
    return d


def test_quantize_awq_cli_then_gguf(ckpt, tmp_path):
    # The per-weight input-scale path (the folded default: test_quant_awq_fold.py).
    out = tmp_path / "awq"
    rc = main(
        [
            "quantize",
            str(ckpt / "float"),
            "--method",
            "awq-int4",
            "--calib",
            str(ckpt / "calib.npy"),
            "--out",
            str(out),
            "--recipe",
            "micro",
            "--quant.awq_grid=3",
            "--quant.calib_samples=4",
            "--quant.calib_seq_len=32",
            "--quant.calib_max_rows=64",
            "--quant.awq_fold=false",
        ]
    )
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "quantize" and "calib" in manifest["inputs"]
    assert manifest["metrics"]["awq_err_over_rtn"] <= 1.0
    assert json.loads((out / "config.json").read_text())["quant"]["method"] == "awq-int4"
    assert not (out / "tokenizer").exists()  # none given, none beside the checkpoint
    model = load_quantized(out)
    assert isinstance(model.layers[0].moe.experts, QuantRoutedExperts)
    assert model.layers[0].moe.experts.gate_up_proj.input_scale is not None
    assert main(["export", "gguf", str(out), "--out", str(tmp_path / "g"), "--type", "q8_0"]) == 0
    arrays, types = read_gguf(tmp_path / "g" / "model-q8_0.gguf")
    assert types["blk.0.ffn_up_exps.weight"] == "Q8_0" and arrays["output.weight"].shape == (
        256,
        64,
    )


def test_quantize_cli_bad_input(ckpt, tmp_path):
    args = ["quantize", str(ckpt / "float"), "--out", str(tmp_path / "x"), "--recipe", "micro"]
    assert main([*args, "--method", "awq-int4"]) == 2  # AWQ without --calib: refused
    assert main([*args, "--method", "rtn-int4", "--quant.group_size=48"]) == 2
    assert not (tmp_path / "x").exists()
    tok = tmp_path / "tok"
    tok.mkdir()
    (tok / "tokenizer.model").write_bytes(b"spm")
    assert main([*args, "--method", "int8", "--tokenizer", str(tok)]) == 0
    assert (tmp_path / "x" / "tokenizer" / "tokenizer.model").read_bytes() == b"spm"


def test_calibration_sources(ckpt, tmp_path):
    ids = load_calibration(ckpt / "calib.npy", n_samples=5, seq_len=100)
    assert ids.shape == (5, 100) and ids.dtype == torch.int64
    torch.save(torch.arange(50), tmp_path / "ids.pt")
    assert load_calibration(tmp_path / "ids.pt", 8, 20).shape == (2, 20)
    with pytest.raises(ConfigError, match="vocab_size"):
        load_calibration(ckpt / "calib.npy", 2, 10, vocab_size=100)
    (tmp_path / "c.csv").write_text("1,2\n")
    with pytest.raises(ConfigError, match=r"\.jsonl"):
        load_calibration(tmp_path / "c.csv", 2, 10)
    (tmp_path / "c.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(ConfigError, match="--tokenizer"):
        load_calibration(tmp_path / "c.jsonl", 2, 10)


def test_calibration_from_token_shards(tmp_path):
    from compass.data.shards.fixtures import ByteTokenizer, make_curated
    from compass.data.shards.format import open_split
    from compass.data.shards.writer import tokenize_curated

    tokenize_curated(make_curated(tmp_path / "cur", n_docs=60), ByteTokenizer(), tmp_path / "sh")
    ids = load_calibration(tmp_path / "sh", n_samples=3, seq_len=16, vocab_size=258)
    split = open_split(tmp_path / "sh", "val")
    stream = torch.as_tensor(split.tokens.astype("int64"))
    if stream.numel() == 0:
        stream = torch.as_tensor(open_split(tmp_path / "sh", "train").tokens.astype("int64"))
    assert ids.shape == (3, 16) and torch.equal(ids[0], stream[:16])
