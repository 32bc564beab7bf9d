"""The Hugging Face Qwen2-MoE mapping: transformers reproduces our logits and greedy output on the
exported weights, import inverts export bit for bit, and bad inputs are refused by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from compass.cli import main as cli_main
from compass.config import ConfigError
from compass.export.hf import export_hf, import_hf
from compass.model.config import ModelConfig
from compass.model.generate import greedy_generate
from compass.model.io import WEIGHTS, load_model, save_model
from compass.model.transformer import CompassModel

transformers = pytest.importorskip("transformers")

VOCAB = 256
# GQA (4 query heads over 2 KV heads), non-default RoPE base and eps so a dropped field shows.
CFG = dict(
    vocab_size=VOCAB,
    d_model=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    head_dim=16,
    n_shared_experts=2,
    n_routed_experts=8,
    top_k=2,
    expert_dim=32,
    max_seq_len=128,
    rope_base=50_000.0,
    norm_eps=1e-5,
    init_std=0.1,
)


def _write_tokenizer(d: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    vocab = {f"t{i}": i for i in range(VOCAB - 2)} | {"<eos>": VOCAB - 2, "<pad>": VOCAB - 1}
    d.mkdir(parents=True)
    Tokenizer(WordLevel(vocab, unk_token="t0")).save(str(d / "tokenizer.json"))
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
    }
    (d / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    (d / "config.json").write_text("{}")  # a stage's own config: must NOT be copied


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    model = CompassModel(ModelConfig(**CFG))
    model.init_weights(seed=7)
    ckpt = save_model(model.eval(), root / "ckpt")
    _write_tokenizer(ckpt / "tokenizer")
    hf_dir = export_hf(ckpt, root / "hf")
    return model, ckpt, hf_dir


def _load_hf(hf_dir: Path, experts_impl: str | None = None):
    kwargs = {"experts_implementation": experts_impl} if experts_impl else {}
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(
        hf_dir, output_loading_info=True, dtype=torch.float32, **kwargs
    )
    return hf.eval(), info


def test_transformers_loads_qwen2_moe_with_no_missing_keys(exported):
    _, _, hf_dir = exported
    hf, info = _load_hf(hf_dir)
    assert type(hf).__name__ == "Qwen2MoeForCausalLM"
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    cfg = json.loads((hf_dir / "config.json").read_text())
    assert cfg["norm_topk_prob"] is False and cfg["shared_expert_intermediate_size"] == 64
    assert cfg["eos_token_id"] == VOCAB - 2 and cfg["pad_token_id"] == VOCAB - 1
    assert json.loads((hf_dir / "generation_config.json").read_text())["eos_token_id"] == VOCAB - 2
    assert hf.config.rope_parameters["rope_theta"] == 50_000.0
    tensors = load_file(str(hf_dir / "model.safetensors"))
    assert "model.layers.1.mlp.experts.7.up_proj.weight" in tensors  # per-expert legacy layout
    for name in ("self_attn.q_proj.bias", "self_attn.k_proj.bias", "mlp.shared_expert_gate.weight"):
        assert not tensors[f"model.layers.0.{name}"].any()
    assert (hf_dir / "tokenizer.json").exists()
    assert json.loads((hf_dir / "config.json").read_text())["model_type"] == "qwen2_moe"
    tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
    assert tok.eos_token_id == VOCAB - 2


def _padded_batch():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, VOCAB - 2, (3, 16), generator=g)
    mask = torch.ones(3, 16, dtype=torch.long)
    mask[1, :5] = 0  # left padding
    mask[2, 11:] = 0  # right padding
    ids[mask == 0] = VOCAB - 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, positions


@pytest.mark.parametrize("experts_impl", ["eager", "grouped_mm"])
def test_logits_match_transformers_on_padded_batch(exported, experts_impl):
    model, _, hf_dir = exported
    hf, _ = _load_hf(hf_dir, experts_impl)
    ids, mask, positions = _padded_batch()
    with torch.no_grad():
        ours = model(ids, positions_BT=positions, attention_mask_BT=mask).logits_BTV
        theirs = hf(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    real = mask.bool()
    diff = (ours[real] - theirs[real]).abs().max().item()
    assert diff <= 1e-4, f"max |logit diff| = {diff:.3g} with experts_implementation={experts_impl}"


def test_greedy_generation_matches_transformers(exported):
    model, _, hf_dir = exported
    hf, _ = _load_hf(hf_dir)
    hf.generation_config.eos_token_id = None  # ours never stops early either
    prompt = [5, 17, 42, 99, 3, 250]
    ours = greedy_generate(model, prompt, max_new_tokens=32)
    with torch.no_grad():
        out = hf.generate(
            torch.tensor([prompt]), max_new_tokens=32, do_sample=False, pad_token_id=VOCAB - 1
        )
    theirs = out[0, len(prompt) :].tolist()
    assert len(ours) == 32
    assert ours == theirs


def _assert_same_checkpoint(a: Path, b: Path) -> None:
    sa, sb = load_file(str(a / WEIGHTS)), load_file(str(b / WEIGHTS))
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k
    ca = json.loads((a / "model_config.json").read_text())
    cb = json.loads((b / "model_config.json").read_text())
    assert ca == cb


def test_import_inverts_export_bit_exact(exported, tmp_path):
    _, ckpt, hf_dir = exported
    back = import_hf(hf_dir, tmp_path / "back")
    _assert_same_checkpoint(ckpt, back)
    assert (back / "tokenizer" / "tokenizer.json").exists()
    assert load_model(back).config == load_model(ckpt).config


def test_sharded_export_and_transformers_saved_dir_round_trip(exported, tmp_path):
    _, ckpt, hf_dir = exported
    export_hf(ckpt, tmp_path / "sharded")  # a single-file export first: must not linger
    sharded = export_hf(ckpt, tmp_path / "sharded", max_shard_bytes=200_000)
    assert not (sharded / "model.safetensors").exists()
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    _assert_same_checkpoint(ckpt, import_hf(sharded, tmp_path / "from_sharded"))
    hf, _ = _load_hf(hf_dir)
    hf.save_pretrained(tmp_path / "resaved")  # whatever layout transformers itself writes
    _assert_same_checkpoint(ckpt, import_hf(tmp_path / "resaved", tmp_path / "from_resaved"))


def _tampered(hf_dir: Path, tmp: Path, name: str, value: torch.Tensor) -> Path:
    bad = tmp / "bad"
    shutil.copytree(hf_dir, bad)
    tensors = load_file(str(bad / "model.safetensors"))
    tensors[name] = value
    save_file(tensors, str(bad / "model.safetensors"))
    return bad


def test_import_names_tensor_and_both_shapes_on_mismatch(exported, tmp_path):
    _, _, hf_dir = exported
    name = "model.layers.1.mlp.experts.3.up_proj.weight"
    bad = _tampered(hf_dir, tmp_path, name, torch.zeros(16, 64))
    with pytest.raises(ConfigError) as e:
        import_hf(bad, tmp_path / "out")
    assert name in str(e.value) and "(16, 64)" in str(e.value) and "(32, 64)" in str(e.value)


@pytest.mark.parametrize(
    "name",
    ["model.layers.0.self_attn.k_proj.bias", "model.layers.1.mlp.shared_expert_gate.weight"],
)
def test_import_refuses_what_compass_cannot_represent(exported, tmp_path, name):
    _, _, hf_dir = exported
    shape = (32,) if name.endswith("bias") else (1, 64)
    bad = _tampered(hf_dir, tmp_path, name, torch.full(shape, 0.01))
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        import_hf(bad, tmp_path / "out")


def test_export_refuses_renormalized_topk_and_mismatched_checkpoint(tmp_path):
    model = CompassModel(ModelConfig(**CFG, renormalize_topk=True))
    model.init_weights(seed=0)
    ckpt = save_model(model, tmp_path / "renorm")
    with pytest.raises(ConfigError, match="renormalize_topk"):
        export_hf(ckpt, tmp_path / "hf")
    cfg = json.loads((ckpt / "model_config.json").read_text())
    cfg.update(renormalize_topk=False, expert_dim=16)
    (ckpt / "model_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=r"gate_up_proj.*\(8, 64, 64\).*\(8, 32, 64\)"):
        export_hf(ckpt, tmp_path / "hf")


def test_cli_export_then_import(exported, tmp_path):
    _, ckpt, _ = exported
    assert cli_main(["export", "hf", str(ckpt), "--out", str(tmp_path / "hf")]) == 0
    assert cli_main(["import", "hf", str(tmp_path / "hf"), "--out", str(tmp_path / "ck")]) == 0
    _assert_same_checkpoint(ckpt, tmp_path / "ck")
    assert cli_main(["import", "hf", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2


def test_run_directory_with_latest_pointer_and_bfloat16_export(exported, tmp_path):
    model, _, _ = exported
    run = tmp_path / "run"
    save_model(model, run / "step-00010")
    (run / "latest").write_text("step-00010\n")
    _write_tokenizer(run / "tokenizer")  # the run's tokenizer, not the checkpoint's
    out = export_hf(run, tmp_path / "hf_bf16", dtype="bfloat16")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["dtype"] == cfg["torch_dtype"] == "bfloat16"
    assert (out / "tokenizer.json").exists() and not (out / "tokenizer").exists()
    tensors = load_file(str(out / "model.safetensors"))
    assert all(t.dtype == torch.bfloat16 for t in tensors.values())
    want = model.state_dict()["layers.0.moe.router.weight"].to(torch.bfloat16)
    assert torch.equal(tensors["model.layers.0.mlp.gate.weight"], want)
