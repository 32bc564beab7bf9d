"""SFT end to end on the micro recipe: data → stage 1 → stage 2 → deep/fast evaluation, plus
selection, stage mixing, packing budgets and exact resume of the data order."""

import json
from collections import Counter

import numpy as np
import pytest

from compass.cli import main
from compass.posttrain.sft.config import SelectionConfig, SFTStageConfig
from compass.posttrain.sft.selection import near_duplicates, quotas, select
from compass.posttrain.sft.stage import SFTStage, stage_mix, tokenize


def _chat(q, a, **kw):
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}], **kw}


def test_selection_removes_duplicates_and_spreads_the_budget_over_clusters():
    samples = [
        _chat(f"price of item {i % 7} in shop {i % 3}?", f"It costs {i}.", category="x")
        for i in range(60)
    ]
    samples += [_chat("same question", "same answer", category="x")] * 10
    samples += [_chat("2 × 3 = ?", "6", category="reasoning")] * 5
    kept, rep = select(samples, SelectionConfig(embedder="hash", keep_frac=0.5), seed=0)
    assert rep["exact_duplicates"] + rep["near_duplicates"] >= 9 and rep["exempt"] == 5
    assert sum(s["messages"][0]["content"] == "same question" for s in kept) <= 1
    assert rep["kept"] == len(kept) < len(samples) and 0 < rep["reduction"] < 1
    assert quotas({0: 100, 1: 4, 2: 1}, 50) == {0: 45, 1: 4, 2: 1}
    e = np.eye(3, dtype=np.float32)[[0, 1, 0, 2]]
    assert near_duplicates(e, 0.99).tolist() == [False, False, True, False]


def test_stage_two_mixes_its_data_downsampled_cot_and_replayed_stage_one():
    samples = (
        [{"stage": 1, "i": i} for i in range(100)]
        + [{"stage": 2, "i": i} for i in range(30)]
        + [{"stage": 2, "long_cot": True, "i": i} for i in range(40)]
    )
    cfg = SFTStageConfig(stage1_resample=0.2, long_cot_ratio=0.25)
    mix = stage_mix(samples, 2, cfg, seed=0)
    c = Counter((s["stage"], bool(s.get("long_cot"))) for s in mix)
    assert c == {(2, False): 30, (2, True): 10, (1, False): 20}
    assert len(stage_mix(samples, 1, cfg, 0)) == 100


def test_batches_fit_the_budget_drop_long_samples_and_resume_exactly(micro_artifacts):
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(micro_artifacts["tokenizer"])
    samples = [_chat("q " * (i % 9 + 1), "a " * (i % 5 + 1)) for i in range(40)]
    samples.append(_chat("x " * 400, "y"))
    counts = Counter()
    data = tokenize(samples, tok, 64, counts)
    assert counts == {"longer than seq_len (dropped)": 1} and len(data) == 40
    cfg = SFTStageConfig(micro_batch_size=2, seq_len=64, bucket=8)
    a = SFTStage("s", data, [], cfg, tok.pad_id, seed=3)
    for _ in range(5):
        b = a.next_batch()
        assert int((b["doc_ids"] >= 0).sum()) <= 2 * 64 and b["input_ids"].shape[1] % 8 == 0
    state = json.loads(json.dumps(a.state_dict()))
    expect = [a.next_batch()["input_ids"] for _ in range(30)]  # crosses an epoch boundary
    b = SFTStage("s", data, [], cfg, tok.pad_id, seed=3)
    b.load_state_dict(state)
    assert all((b.next_batch()["input_ids"] == e).all() for e in expect)


@pytest.fixture(scope="module")
def sft_run(micro_artifacts, tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    data = micro_artifacts["data"]
    common = ["--recipe", "micro"]
    tasks = root / "tasks"
    assert main(["data", "tasks", "--world", str(data), "--out", str(tasks), *common]) == 0
    assert (
        main(
            [
                "data",
                "sft",
                "--input",
                str(tasks / "sft.jsonl"),
                "--exclude",
                str(data / "eval"),
                "--exclude",
                str(tasks / "eval"),
                "--out",
                str(root / "data"),
                *common,
            ]
        )
        == 0
    )
    args = ["--data", str(root / "data"), "--tokenizer", str(micro_artifacts["tokenizer"]), *common]
    assert (
        main(
            [
                "sft",
                "--stage",
                "1",
                "--init",
                str(micro_artifacts["ckpt"]),
                "--out",
                str(root / "s1"),
                *args,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "sft",
                "--stage",
                "2",
                "--init",
                str(root / "s1"),
                "--out",
                str(root / "s2"),
                "--eval",
                str(tasks / "eval" / "cart_arithmetic.jsonl"),
                *args,
            ]
        )
        == 0
    )
    return root


def test_two_stages_train_save_and_evaluate_both_modes(sft_run):
    from compass.model.io import load_model
    from compass.utils.manifest import read_manifest

    report = json.loads((sft_run / "data" / "report.json").read_text())
    assert report["rejected"].get("asks a held-out evaluation prompt", 0) == 0
    assert report["long_cot"] > 0 and report["kept"] < report["read"]
    m1, m2 = read_manifest(sft_run / "s1"), read_manifest(sft_run / "s2")
    assert m1["metrics"]["step"] > 0 and m2["metrics"]["long_cot_samples"] > 0
    assert 0 < m1["metrics"]["real_token_share"] <= 1
    modes = m2["metrics"]["reasoning"]
    assert modes["all"]["n"] == 2 * 5  # micro: five held-out problems in each of two languages
    assert "| lang | n | fast | deep |" in (sft_run / "s2" / "reasoning_eval.md").read_text()
    load_model(sft_run / "s2")


def test_cli_refuses_a_missing_data_dir(tmp_path, micro_artifacts, caplog):
    code = main(
        [
            "sft",
            "--init",
            str(micro_artifacts["ckpt"]),
            "--data",
            str(tmp_path),
            "--tokenizer",
            str(micro_artifacts["tokenizer"]),
            "--recipe",
            "micro",
        ]
    )
    assert code == 2 and "a directory with no .jsonl" in caplog.text
