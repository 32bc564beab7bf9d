"""Several models in one run: two different tiny transformers models (an MoE and a dense one) side
by side in one table with standard errors and a plot; a broken model in between costs nothing."""

import json

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Tiny matmuls on the shared 2-core box are fastest on one thread."""


def _save(model_cls, config, tok, path):
    import torch

    torch.manual_seed(0)
    model_cls(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_hf_models(micro_artifacts, tmp_path_factory):
    """A Qwen2-MoE and a Llama model from small random configs, with the micro tokenizer."""
    from transformers import (
        AutoTokenizer,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2MoeConfig,
        Qwen2MoeForCausalLM,
    )

    tok = AutoTokenizer.from_pretrained(micro_artifacts["hf"])
    root = tmp_path_factory.mktemp("tiny_hf")
    shape = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    moe = Qwen2MoeConfig(
        **shape,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=32,
        num_experts=4,
        num_experts_per_tok=2,
    )
    return {
        "qwen-moe": _save(Qwen2MoeForCausalLM, moe, tok, root / "qwen_moe"),
        "llama": _save(LlamaForCausalLM, LlamaConfig(**shape), tok, root / "llama"),
    }


def test_two_hf_models_one_table_and_a_broken_one(tiny_hf_models, tmp_path, capsys):
    from compass.cli import main

    mc = tmp_path / "review.jsonl"
    rows = [
        {"review": f"Item {i} arrived {w}.", "question": "Was the buyer happy?", "label": i % 2}
        for i, w in enumerate(["late", "early", "broken", "fine", "torn", "on time"])
    ]
    mc.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = tmp_path / "review.json"
    spec.write_text(
        json.dumps(
            {
                "name": "review_happy",
                "path": str(mc),
                "template": "{{review}}\nQuestion: {{question}}\nAnswer:",
                "doc_to_choice": "['no', 'yes']",
                "doc_to_target": "label",
            }
        )
    )
    out = tmp_path / "out"
    code = main(
        [
            "eval",
            "--model",
            f"qwen-moe=hf:{tiny_hf_models['qwen-moe']}",
            "--model",
            f"broken={tmp_path / 'no_such_model'}",
            "--model",
            f"llama=hf:{tiny_hf_models['llama']}",
            "--task",
            str(spec),
            "--out",
            str(out),
        ]
    )
    assert code == 1  # a model failed; the others are still reported
    res = json.loads((out / "results.json").read_text())
    assert list(res) == ["qwen-moe", "llama"]
    for rows_ in res.values():
        (r,) = rows_
        assert r["n"] == 6 and 0 <= r["metrics"]["acc"] <= 1 and r["metrics"]["acc_stderr"] > 0
    lls = {m: (out / f"samples_{m}.jsonl").read_text() for m in res}
    assert lls["qwen-moe"] != lls["llama"]  # two different models were scored
    table = (out / "results.md").read_text()
    assert "| task | metric | n | qwen-moe | llama |" in table and table.count("±") == 2
    assert "broken: failed — model" in table
    assert "broken" in json.loads((out / "failed.json").read_text())
    assert (out / "results.png").stat().st_size > 0
    err = [line for line in capsys.readouterr().err.splitlines() if "compass eval:" in line]
    assert len(err) == 1 and "model 'broken' failed" in err[0] and "hf:DIR" in err[0]


def test_suite_scores_a_checkpoint_and_its_export_alike(micro_artifacts, tmp_path):
    """One suite file, one command: the Compass checkpoint and its HF export side by side give
    the same scores (the hf: backend encodes requests as the engine does)."""
    from compass.cli import main

    eval_dir = micro_artifacts["data"] / "eval"
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"""
out: {tmp_path / "out"}
max_tokens: 8
models:
  - compass={micro_artifacts["ckpt"]}
  - export=hf:{micro_artifacts["hf"]}
tasks:
  - {{name: review, path: {eval_dir / "review_understanding.jsonl"}, filters: {{lang: en}}}}
  - {{name: numbers, path: {eval_dir / "numerical_reasoning.jsonl"}, kind: gen, stop: ["\\n"]}}
"""
    )
    assert main(["eval", "--suite", str(suite)]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["task"] for r in res["compass"]] == ["review", "numbers"]
    for a, b in zip(res["compass"], res["export"]):
        assert a["metrics"] == b["metrics"] and a["n"] == b["n"] > 0
