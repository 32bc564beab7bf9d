"""A bad task file costs only its own task: one line naming the file, the line and the field,
while the other tasks are still scored and their results kept."""

import json
import logging

import pytest

from compass.eval.compare import check_tasks
from compass.eval.harness import evaluate
from compass.eval.tasks import TaskSpec

GOOD = {"prompt": "Colour of the red shirt?", "choices": ["red", "blue"], "answer": 0}


class Shortest:
    """Prefers the shortest continuation: enough to score a task without a model."""

    def loglikelihood(self, requests):
        return [(-float(len(x)), False) for _, x in requests]


def _task(tmp_path, name, bad, **spec):
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n")
    return TaskSpec(name, str(path), **spec)


def _specs(tmp_path):
    return [
        _task(tmp_path, "no_choices", {"prompt": "q", "answer": 0}),
        _task(tmp_path, "empty_choices", {"prompt": "q", "choices": [], "answer": 0}),
        _task(tmp_path, "gold_out_of_range", {"prompt": "q", "choices": ["a", "b"], "answer": 2}),
        _task(
            tmp_path,
            "jinja_field",
            {"prompt": "q", "choices": ["a"], "answer": 0},
            template="{{prompt}} ({{brand}})",
        ),
        _task(tmp_path, "short_field", {**GOOD}, template="Q: {question}"),
        _task(tmp_path, "good", GOOD),
    ]


NEEDLES = {
    "no_choices": ("no_choices.jsonl:2", "field 'choices'"),
    "empty_choices": ("empty_choices.jsonl:2", "field 'choices'"),
    "gold_out_of_range": ("gold_out_of_range.jsonl:2", "field 'answer'=2"),
    "jinja_field": ("jinja_field.jsonl:1", "field 'brand'"),
    "short_field": ("short_field.jsonl:1", "'question'"),
}


def test_evaluate_skips_bad_tasks_and_scores_the_rest(tmp_path):
    results = {r.task: r for r in evaluate(_specs(tmp_path), Shortest())}
    assert not results["good"].skipped and results["good"].metrics["acc"] == 1.0
    for name, (place, field) in NEEDLES.items():
        why = results[name].skipped
        assert place in why and field in why and "\n" not in why, why


def test_check_tasks_names_each_bad_file_in_one_line(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="compass.eval.compare"):
        bad = check_tasks(_specs(tmp_path))
    assert sorted(bad) == sorted(NEEDLES)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(NEEDLES) and all("\n" not in line for line in lines)


@pytest.mark.parametrize("forms", [["raw"], ["raw", "letters"]])
def test_compare_keeps_good_results_beside_bad_tasks(micro_artifacts, tmp_path, forms):
    from compass.eval.compare import run_models
    from compass.eval.loading import parse_model

    specs = _specs(tmp_path)
    comp = run_models(
        [parse_model(f"m={micro_artifacts['ckpt']}")], specs, tmp_path / "out", forms=forms
    )
    assert not comp.failures
    table = (tmp_path / "out" / "results.md").read_text()
    for label in ["m"] if forms == ["raw"] else ["m [raw]", "m [letters]"]:
        by = {r.task: r for r in comp.results[label]}
        assert not by["good"].skipped and by["good"].n == 2
        assert all(by[name].skipped for name in NEEDLES)
        assert label in table.splitlines()[0]
    assert "no_choices.jsonl:2" in table
