"""The evaluation harness: task-file errors, metrics, and exact parity with
lm-evaluation-harness."""

import json
import math
import os

import pytest

from compass.eval.answers import is_correct
from compass.eval.harness import evaluate
from compass.eval.metrics import mc_scores, mean_stderr
from compass.eval.tasks import TaskFileError, TaskSpec, builtin_suite, load_items

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    "record,needle",
    [
        ({"prompt": "q", "answer": 0}, "field 'choices' is missing"),
        ({"prompt": "q", "choices": ["a", "b"], "answer": 5}, "not an index"),
        ({"prompt": "q", "choices": [], "answer": 0}, "non-empty list"),
    ],
)
def test_bad_task_items_name_file_line_and_field(tmp_path, record, needle):
    path = _write(tmp_path / "t.jsonl", [{"prompt": "ok", "choices": ["a"], "answer": 0}, record])
    with pytest.raises(TaskFileError, match=needle) as e:
        load_items(TaskSpec("t", str(path)))
    assert f"{path}:2" in str(e.value)


def test_letter_answer_keys_are_read_as_indices(tmp_path):
    path = _write(tmp_path / "arc.jsonl", [{"question": "q", "opts": ["a", "b", "c"], "key": "C"}])
    spec = TaskSpec(
        "arc", str(path), prompt_field="question", choices_field="opts", answer_field="key"
    )
    assert load_items(spec)[0].gold == 2


def test_metrics():
    assert mc_scores([-1.0, -2.0], ["a", "b"], 0) == (1.0, 1.0)
    # Length normalisation flips the choice: -6 over 6 chars beats -2 over 1 char.
    assert mc_scores([-2.0, -6.0], ["a", "bbbbbb"], 1) == (0.0, 1.0)
    m, se = mean_stderr([1.0, 0.0, 1.0, 1.0])
    assert m == 0.75 and math.isclose(se, math.sqrt(0.25 / 4))


def test_answer_checks_money_and_math():
    assert is_correct("Rp 150.000", "Rp150.000", {"answer_minor": 150000, "currency": "IDR"})
    assert is_correct("42", "$42$")
    assert not is_correct("41", "42")


def _suite(micro_artifacts):
    specs = {s.name: s for s in builtin_suite(micro_artifacts["data"] / "eval")}
    mc = specs["review_understanding"]
    gen = specs["numerical_reasoning"]
    mc.filters = {"lang": "en"}
    gen.filters = {"lang": "en"}
    return mc, gen


def test_lm_eval_parity_mc_and_generative(micro_artifacts, tmp_path):
    """Our harness, lm-eval on the exported HF model and lm-eval on Compass agree item by item."""
    from compass.eval.lm_eval_bridge import run_lm_eval
    from compass.eval.loading import load_backend

    mc, gen = _suite(micro_artifacts)
    backend = load_backend(micro_artifacts["ckpt"])
    ours = {r.task: r for r in evaluate([mc, gen], backend)}
    hf_samples, compass_samples = {}, {}
    hf = run_lm_eval(
        [mc, gen],
        "hf",
        f"pretrained={micro_artifacts['hf']},dtype=float32",
        tmp_path / "hf",
        samples=hf_samples,
    )
    cm = run_lm_eval(
        [mc, gen],
        "compass",
        f"checkpoint={micro_artifacts['ckpt']}",
        tmp_path / "compass",
        samples=compass_samples,
    )
    for res in (hf, cm):
        assert res[mc.name]["acc"] == ours[mc.name].metrics["acc"]
        assert res[mc.name]["acc_norm"] == ours[mc.name].metrics["acc_norm"]
        assert res[gen.name]["exact_match"] == ours[gen.name].metrics["exact_match"]
    # Log-likelihoods themselves, not only the argmax, match lm-eval's HF path.
    hf_lls = [r[0][0] for s in hf_samples[mc.name] for r in s["resps"]]
    our_lls = [ll for s in ours[mc.name].samples for ll in s["lls"]]
    assert len(hf_lls) == len(our_lls)
    assert max(abs(a - b) for a, b in zip(sorted(hf_lls), sorted(our_lls))) < 1e-3
    # Generations are the same tokens: decode ours with HF's decoder (the two libraries spell
    # invalid byte-fallback runs differently; valid text decodes identically). lm-eval's HF model
    # decodes with skip_special_tokens=True, so a generated <|im_start|> vanishes there too.
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(micro_artifacts["hf"])
    ours_text = sorted(
        hf_tok.decode(s["output_ids"], skip_special_tokens=True).split("\n")[0]
        for s in ours[gen.name].samples
    )
    assert sorted(s["resps"][0][0] for s in hf_samples[gen.name]) == ours_text
