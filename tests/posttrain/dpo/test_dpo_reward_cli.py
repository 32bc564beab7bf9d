"""``compass data tasks`` → ``compass reward`` → ``compass dpo`` on the micro artifacts: the
world's files chain the stages; artifacts, metrics, bad input (a reward model from another
tokenizer or vocabulary)."""

import json
import shutil

import pytest

from compass.cli import main
from compass.config import ConfigError
from compass.utils.manifest import read_manifest

SMALL_TASKS = [
    "--tasks.reward.train_pairs_per_lang_kind=3",
    "--tasks.reward.heldout_pairs_per_lang_kind=2",
    "--tasks.reward.policy_prompts_per_lang=1",
    "--tasks.reward.verifier_chains=6",
    '--tasks.dpo.prompts_per_lang={"math": 1, "general": 1, "badcase": 1}',
]
SMALL_RM = [
    "--reward.runs=1:1e-3:linear,2:2e-3:cosine",
    "--reward.bon_n=1,2,4",
    "--reward.bon_max_tokens=6",
    "--reward.train.micro_batch_size=4",
    "--reward.policy_samples=3",
    "--reward.verifier.steps=2",
    "--reward.verifier.micro_batch_size=2",
    "--reward.verifier.warmup_steps=0",
    "--reward.lm_batch=2",
]
SMALL_DPO = [
    "--dpo.rounds=1",
    "--dpo.n_samples=3",
    "--dpo.max_tokens=6",
    "--dpo.min_margin=0",
    "--dpo.eval_max_tokens=6",
    "--dpo.eval_deep_max_tokens=6",
    "--dpo.require_language=false",
    "--dpo.deep_max_tokens=6",
    "--dpo.math_reference=true",
]


@pytest.fixture(scope="module")
def tasks(micro_artifacts, tmp_path_factory):
    out = tmp_path_factory.mktemp("tasks")
    args = [
        "data",
        "tasks",
        "--recipe",
        "micro",
        "--world",
        str(micro_artifacts["data"]),
        "--out",
        str(out),
    ]
    assert main(args + SMALL_TASKS) == 0
    return out


@pytest.fixture(scope="module")
def rm_dir(micro_artifacts, tasks, tmp_path_factory):
    out = tmp_path_factory.mktemp("rm") / "reward"
    extra = tmp_path_factory.mktemp("pairs") / "extra.jsonl"
    extra.write_text(
        json.dumps({"prompt": "Hi", "chosen": "Hello!", "rejected": "Hello!"})
        + "\n"
        + json.dumps({"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."})
        + "\n"
    )
    args = [
        "reward",
        "--recipe",
        "micro",
        "--policy",
        str(micro_artifacts["ckpt"]),
        "--input",
        str(tasks / "pairs" / "train.jsonl"),
        "--input",
        str(extra),
        "--heldout",
        str(tasks / "pairs" / "heldout.jsonl"),
        "--bon",
        str(tasks / "prompts" / "bon.jsonl"),
        "--verifier",
        str(tasks / "verifier.jsonl"),
        f'--reward.policy_prompts=["{tasks / "prompts" / "rm_policy.jsonl"}"]',
        "--out",
        str(out),
    ]
    assert main(args + SMALL_RM) == 0
    return out


def test_reward_writes_runs_soup_and_metrics(rm_dir):
    m = read_manifest(rm_dir)["metrics"]
    assert set(m["pairwise_accuracy"]) == {"base", "run_0", "run_1", "soup"}
    # the verifier warm-up trained on its generated solutions before the runs
    assert m["verifier"]["samples"] == 6 and m["verifier"]["steps"] == 2
    assert (rm_dir / "verifier" / "latest").exists()
    # the likelihood weight on replies without reasoning is trained, then left out of the score
    from compass.posttrain.reward.io import load_reward_model

    w = load_reward_model(rm_dir).lp_scale.tolist()
    assert w[1] == 0.0 and w[0] != 0.0
    assert m["pairs"]["skipped"].get("chosen equals rejected") == 1
    assert m["pairs"]["train"] == 2 * 4 * 3 + 1  # the world's + the one good line of extra.jsonl
    # on-policy math pairs were sampled; the micro policy's 6-token answers make none
    assert any(k.startswith("policy") for k in m["pairs"]["skipped"])
    assert m["best_of_n"]["prompts"] == 2 and m["best_of_n"]["thinking"] is True
    kinds = {"arithmetic", "language", "grounding", "fluency"}
    assert set(m["soup_accuracy_by_kind"]) == kinds
    assert set(m["best_of_n"]["soup"]) == {"1", "2", "4"}
    assert (rm_dir / "soup" / "model.safetensors").exists()
    assert (rm_dir / "pairs" / "heldout.jsonl").exists()


def test_dpo_round_writes_a_policy_and_before_after(rm_dir, micro_artifacts, tasks, tmp_path):
    out = tmp_path / "dpo"
    args = [
        "dpo",
        "--recipe",
        "micro",
        "--policy",
        str(micro_artifacts["ckpt"]),
        "--reward",
        str(rm_dir),
        "--prompts",
        str(tasks / "prompts" / "dpo.jsonl"),
        "--heldout",
        str(tasks / "prompts" / "dpo_heldout.jsonl"),
        "--out",
        str(out),
    ]
    assert main(args + SMALL_DPO) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["prompts"]["train"] == 2 * 3
    r0 = m["rounds"][0]
    assert r0["prompts"] == 2 * 4  # each math prompt in fast and in deep mode
    assert r0["pairs"] + sum(r0["skipped"].values()) - r0["skipped"].get("empty response", 0) == 8
    assert r0["reference_pairs"] > 0  # the micro policy solves nothing: reference solutions
    assert "no correct answer" not in r0["skipped"]
    for key in ("mean_reward", "math_accuracy", "language_match", "deep_mode_closes_think"):
        assert key in m["before"] and key in m["after"]
    assert (out / "ckpt" / "model.safetensors").exists()
    assert (out / "ckpt" / "tokenizer" / "tokenizer.model").exists()


def test_reward_model_from_another_tokenizer_is_refused(rm_dir, micro_artifacts, tasks, tmp_path):
    from compass.posttrain.dpo.config import DPOConfig
    from compass.posttrain.dpo.run import run_dpo

    other = tmp_path / "tok"
    shutil.copytree(micro_artifacts["tokenizer"], other)
    with open(other / "tokenizer.model", "ab") as f:
        f.write(b"\0")  # a different tokenizer file: another fingerprint
    cfg = DPOConfig(prompts=[str(tasks / "prompts" / "dpo.jsonl")], rounds=1)
    with pytest.raises(ConfigError, match="trained with tokenizer"):
        run_dpo(cfg, micro_artifacts["ckpt"], rm_dir, tmp_path / "x", other)


def test_reward_model_with_another_vocabulary_is_refused(rm_dir, micro_artifacts):
    from compass.model.io import load_model_config
    from compass.posttrain.reward.io import check_matches

    vocab = load_model_config(micro_artifacts["ckpt"]).vocab_size
    check_matches(rm_dir, micro_artifacts["tokenizer"], vocab)
    with pytest.raises(ConfigError, match="backbone does not match the policy"):
        check_matches(rm_dir, micro_artifacts["tokenizer"], vocab + 8)
