"""Templates over any field of a record (lm-eval's doc_to_text / doc_to_choice / doc_to_target),
few-shot examples from a separate file, and suite files."""

import json

import pytest

from compass.eval.benchmarks import benchmark_spec
from compass.eval.harness import build_context
from compass.eval.suite import load_suite, spec_from_dict
from compass.eval.tasks import TaskFileError, TaskSpec, load_fewshot, load_items

BELEBELE = {
    "flores_passage": "Toko itu buka setiap hari dari jam delapan pagi.",
    "question": " Kapan toko itu buka? ",
    "mc_answer1": "Jam tujuh",
    "mc_answer2": "Jam delapan",
    "mc_answer3": "Jam sembilan",
    "mc_answer4": "Jam sepuluh",
    "correct_answer_num": "2",
    "dialect": "ind_Latn",
}
BOOLQ = {"question": "is iron a metal", "title": "Iron", "answer": True, "passage": "Iron is."}
# lm-evaluation-harness's own task YAML fields for the two benchmarks, verbatim.
LM_EVAL_YAML = {
    "belebele": {
        "doc_to_text": "P: {{flores_passage}}\nQ: {{question.strip()}}\nA: {{mc_answer1}}\nB: "
        "{{mc_answer2}}\nC: {{mc_answer3}}\nD: {{mc_answer4}}\nAnswer:",
        "doc_to_choice": ["A", "B", "C", "D"],
        "doc_to_target": "{{['1', '2', '3', '4'].index(correct_answer_num)}}",
    },
    "boolq": {
        "doc_to_text": "{{passage}}\nQuestion: {{question}}?\nAnswer:",
        "doc_to_choice": ["no", "yes"],
        "doc_to_target": "{{ answer | int }}",
    },
}


def _write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.mark.parametrize("name,record", [("belebele", BELEBELE), ("boolq", BOOLQ)])
def test_lm_eval_templates_on_a_release_file_match_the_converter(tmp_path, name, record):
    """A release file read as is through a spec with lm-eval's templates (prompts built from two
    or more fields) gives exactly the items of Compass's converter for that release."""
    path = _write(tmp_path / f"{name}.jsonl", [record])
    spec = spec_from_dict({"name": name, "path": str(path), **LM_EVAL_YAML[name]}, "test")
    (got,) = load_items(spec)
    (want,) = load_items(benchmark_spec(name, path))
    assert (got.prompt, got.choices, got.gold) == (want.prompt, want.choices, want.gold)
    assert build_context(spec, [got], 0) == got.prompt


def test_choice_field_target_by_text_and_prompt_form(tmp_path):
    path = _write(
        tmp_path / "t.jsonl",
        [{"context": "Bag, red.", "q": "Colour?", "options": ["red", "blue"], "gold": "blue"}],
    )
    spec = TaskSpec(
        "t",
        str(path),
        template="{{context}} {{q}}",
        choices_template="options",
        target_template="gold",
    )
    (item,) = load_items(spec)
    assert (item.prompt, item.choices, item.gold) == ("Bag, red. Colour?", ["red", "blue"], 1)
    form = TaskSpec(
        "t",
        str(path),
        prompt_field="q",
        choices_field="options",
        answer_field="gold",
        template="Q: {prompt}",
    )
    (item,) = load_items(form)
    assert build_context(form, [item], 0) == "Q: Colour?" and item.gold == 1


def test_template_naming_a_missing_field_is_one_line(tmp_path, capsys):
    from compass.cli import main

    path = _write(
        tmp_path / "boolq.jsonl", [BOOLQ, {k: v for k, v in BOOLQ.items() if k != "passage"}]
    )
    spec = tmp_path / "boolq.json"
    spec.write_text(json.dumps({"name": "boolq", "path": str(path), **LM_EVAL_YAML["boolq"]}))
    with pytest.raises(SystemExit) as e:  # before any model is opened
        main(["eval", "--model", str(tmp_path / "no_model"), "--task", str(spec)])
    msg = str(e.value)
    assert "\n" not in msg and f"{path}:2" in msg and "field 'passage'" in msg
    assert "fix the template or the file" in msg


@pytest.mark.parametrize(
    "fields,needle",
    [
        ({"template": "{{passage"}, "not valid Jinja"),
        ({"template": "{{passage}}", "choices_template": "{{passage}}"}, "not a list"),
        ({"prompt_field": "question", "colour": "red"}, "unknown task field(s) ['colour']"),
    ],
)
def test_bad_templates_and_fields(tmp_path, fields, needle):
    path = _write(tmp_path / "b.jsonl", [BOOLQ])
    with pytest.raises(TaskFileError) as e:
        load_items(spec_from_dict({"name": "b", "path": str(path), **fields}, "spec.json"))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_fewshot_from_a_separate_file_seeded_and_never_the_item(tmp_path):
    recs = [{"prompt": f"q{i}", "choices": ["a", "b"], "answer": i % 2} for i in range(8)]
    test = _write(tmp_path / "test.jsonl", recs[:2])
    dev = _write(tmp_path / "dev.jsonl", recs)  # holds copies of the test items too
    spec = TaskSpec("t", str(test), num_fewshot=3, fewshot_path=str(dev))
    items, pool = load_items(spec), load_fewshot(spec)
    contexts = [build_context(spec, items, i, pool) for i in range(len(items))]
    assert contexts == [build_context(spec, items, i, pool) for i in range(len(items))]
    for item, ctx in zip(items, contexts):
        shots = ctx.split("\n\n")
        assert len(shots) == 4 and shots[-1] == item.prompt
        assert all(not s.startswith(item.prompt + " ") for s in shots[:-1])
    spec.fewshot_seed = 7
    assert [build_context(spec, items, i, pool) for i in range(2)] != contexts


def test_suite_file(tmp_path):
    bool_path = _write(tmp_path / "boolq_dev.jsonl", [BOOLQ])
    spec_file = tmp_path / "s.json"
    spec_file.write_text(
        json.dumps({"name": "from_file", "path": str(bool_path), "format": "boolq"})
    )
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"""
out: {tmp_path / "out"}
limit: 50
models:
  - mine=runs/sft/final
  - {{label: peer, model: "openai:http://127.0.0.1:9/v1#peer-7b", tokenizer: /tok, api_key_env: K}}
tasks:
  - benchmark: boolq={bool_path}
  - task: {spec_file}
  - name: boolq_t
    path: {bool_path}
    doc_to_text: "{{{{passage}}}}\\nQuestion: {{{{question}}}}?\\nAnswer:"
    doc_to_choice: ['no', 'yes']
    doc_to_target: "{{{{ answer | int }}}}"
"""
    )
    s = load_suite(suite)
    assert [(m.label, m.target) for m in s.models] == [
        ("mine", "runs/sft/final"),
        ("peer", "openai:http://127.0.0.1:9/v1#peer-7b"),
    ]
    assert s.models[1].tokenizer == "/tok" and s.models[1].api_key_env == "K"
    assert [t.name for t in s.specs] == ["boolq", "from_file", "boolq_t"]
    assert s.settings == {"out": str(tmp_path / "out"), "limit": 50}
    prompts = {t.name: load_items(t)[0].prompt for t in s.specs}
    assert len(set(prompts.values())) == 1  # three ways to name one benchmark, one prompt
    suite.write_text("model: [x]\n")
    with pytest.raises(TaskFileError, match=r"unknown key\(s\) \['model'\]"):
        load_suite(suite)


def test_docs_suite_lists_the_reports_benchmarks(tmp_path):
    """docs/eval-tasks.md's suite of the report's §7 parses, names every release format once per
    language with unique task names, and its Social IQa template reads the release's fields."""
    from dataclasses import replace
    from pathlib import Path

    from compass.eval.benchmarks import BENCHMARKS

    doc = (Path(__file__).parents[2] / "docs" / "eval-tasks.md").read_text()
    block = doc.split("<!-- suite: report-section-7")[1].split("```yaml\n")[1].split("```")[0]
    (tmp_path / "suite.yaml").write_text(block)
    suite = load_suite(tmp_path / "suite.yaml")
    names = [s.name for s in suite.specs]
    assert len(names) == len(set(names)) == 39 and len(suite.models) == 5
    assert {s.format for s in suite.specs} == {*BENCHMARKS, ""}
    siqa = next(s for s in suite.specs if s.name == "social_iqa")
    rec = {"context": "Kai sold the bag.", "question": "Why?", "label": "3"}
    rec |= {"answerA": "to eat", "answerB": "to sleep", "answerC": "to earn money"}
    (item,) = load_items(replace(siqa, path=str(_write(tmp_path / "siqa.jsonl", [rec]))))
    assert item.prompt == "Q: Kai sold the bag. Why?\nA:" and item.gold == 2
