"""Public benchmark files in their released formats: read with no code changes, scored end to end
through ``compass eval --benchmark``, and bad files rejected naming file:line and field."""

import json
import logging

import pytest

from compass.eval.benchmarks import BENCHMARKS, benchmark_spec, lang_from_path, parse_benchmark_arg
from compass.eval.tasks import GenItem, MCItem, TaskFileError, load_items

ARC = {"question": "Which is a metal?", "answerKey": "C"}
ARC["choices"] = {"text": ["wood", "glass", "iron", "cloth"], "label": ["A", "B", "C", "D"]}
PASSAGE = "Toko itu buka setiap hari dari jam delapan pagi."
# One or two records per benchmark, field names exactly as each public release spells them.
FIXTURES = {
    "xcopa": (
        "test.id.jsonl",
        [
            {
                "premise": "Barang itu dibungkus plastik gelembung.",
                "choice1": "Barang itu rapuh.",
                "choice2": "Barang itu kecil.",
                "question": "cause",
                "label": 0,
                "idx": 1,
            }
        ],
    ),
    "mmlu": (
        "mmlu_test.jsonl",
        [
            {
                "question": " What is 2 + 3? ",
                "subject": "elementary_mathematics",
                "choices": ["4", "5", "6", "7"],
                "answer": 1,
            }
        ],
    ),
    "hellaswag": (
        "hellaswag_val.jsonl",
        [
            {
                "ind": 4,
                "activity_label": "Removing ice from car",
                "ctx_a": "Then, the man writes over the snow covering the window of a car.",
                "ctx_b": "then",
                "ctx": "unused",
                "endings": [" the man stops.", " he sprays it.", " he [title] wipes.", " runs."],
                "label": "3",
                "split": "val",
            }
        ],
    ),
    "openbookqa": (
        "obqa.jsonl",
        [
            {
                "id": "7-980",
                "question": {
                    "stem": "The sun is responsible for",
                    "choices": [
                        {"text": "puppies learning tricks", "label": "A"},
                        {"text": "plants sprouting", "label": "B"},
                    ],
                },
                "answerKey": "B",
            },
            {"id": "8", "question_stem": "Water is", "answerKey": "A"}
            | {"choices": {"text": ["wet", "dry"], "label": ["A", "B"]}},
        ],
    ),
    "belebele": (
        "ind_Latn.jsonl",
        [
            {
                "link": "https://example.org/x",
                "question_number": 1,
                "flores_passage": PASSAGE,
                "question": "Kapan toko itu buka?",
                "mc_answer1": "Jam tujuh",
                "mc_answer2": "Jam delapan",
                "mc_answer3": "Jam sembilan",
                "mc_answer4": "Jam sepuluh",
                "correct_answer_num": "2",
                "dialect": "ind_Latn",
                "ds": "2023-05-03",
            }
        ],
    ),
    "xstorycloze": (
        "xstory_cloze_en_eval.jsonl",
        [
            {
                "story_id": "s1",
                "input_sentence_1": "Ana ordered shoes.",
                "input_sentence_2": "They arrived late.",
                "input_sentence_3": "They were too small.",
                "input_sentence_4": "She asked for a return.",
                "sentence_quiz1": "The shop refunded her.",
                "sentence_quiz2": "She wore them every day.",
                "answer_right_ending": 1,
            }
        ],
    ),
    "boolq": (
        "boolq_dev.jsonl",
        [{"question": "is iron a metal", "title": "Iron", "answer": True, "passage": "Iron is."}],
    ),
    "arc": ("ARC-Challenge-Test.jsonl", [ARC | {"id": "Mercury_1"}]),
    "race": (
        "race_high.jsonl",
        [
            {
                "example_id": "high1.txt",
                "article": PASSAGE,
                "question": "When does it open?",
                "options": ["7", "8", "9", "10"],
                "answer": "B",
            }
        ],
    ),
    "gsm8k": (
        "gsm8k_test.jsonl",
        [
            {
                "question": "Natalia sold 48 clips in April and half as many in May. Total?",
                "answer": "In May she sold 48/2 = <<48/2=24>>24.\n"
                "48+24 = <<48+24=72>>72\n#### 1,072",
            }
        ],
    ),
    "gpqa": (
        "gpqa_diamond.csv",
        "Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,"
        "Incorrect Answer 3,Subdomain\n"
        'x,"What is H2O?\nPick one.",water,salt,iron,neon,Chemistry\n',
    ),
    "winogender": (
        "all_sentences.tsv",
        "sentid\tsentence\ntechnician.customer.1.male.txt\t"
        "The technician told the customer that he could pay with cash.\n",
    ),
    "shopping_mmlu": (
        "shopping_mmlu.json",
        json.dumps(
            [
                {
                    "input_field": "Which goes with a phone?\n0. case\n1. sock\nAnswer: ",
                    "output_field": "0",
                    "task_type": "multiple-choice",
                    "metric": "accuracy",
                    "task_name": "product_compatibility",
                },
                {
                    "input_field": "Rank these.",
                    "output_field": "[1, 2]",
                    "task_type": "ranking",
                    "metric": "ndcg",
                    "task_name": "query_product_ranking",
                },
            ]
        ),
    ),
    "ecinstruct": (
        "ecinstruct_test.jsonl",
        [
            {
                "task": "Answerability_Prediction",
                "setting": "IND_Diverse_Instruction",
                "instruction": "Can the question be answered from the reviews?",
                "input": "Question: is it waterproof? Reviews: great in rain.",
                "options": ["yes", "no"],
                "output": "yes",
                "split": "test",
            }
        ],
    ),
}


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in content), encoding="utf-8")
    return path


def test_every_benchmark_has_a_fixture():
    assert set(FIXTURES) == set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_release_format_reads(tmp_path, name):
    fname, content = FIXTURES[name]
    items = load_items(benchmark_spec(name, _write(tmp_path, fname, content)))
    assert items
    for it in items:
        if isinstance(it, MCItem):
            assert 0 <= it.gold < len(it.choices) and it.prompt
        else:
            assert isinstance(it, GenItem) and it.answer


def _one(tmp_path, name):
    fname, content = FIXTURES[name]
    return load_items(benchmark_spec(name, _write(tmp_path, fname, content)))


def test_prompts_follow_lm_eval_templates(tmp_path):
    """Spot checks against lm-evaluation-harness's task definitions of the same records."""
    (x,) = _one(tmp_path, "xcopa")
    assert x.prompt == "Barang itu dibungkus plastik gelembung karena" and x.lang == "id"
    assert x.choices == ["barang itu rapuh.", "barang itu kecil."] and x.gold == 0
    (h,) = _one(tmp_path, "hellaswag")
    assert h.prompt == (
        "Removing ice from car: Then, the man writes over the snow covering the window of a car. "
        "Then"
    )
    assert h.choices[2] == "he. wipes." and h.gold == 3
    (m,) = _one(tmp_path, "mmlu")
    assert (
        m.prompt == "What is 2 + 3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:" and m.choices[m.gold] == "B"
    )
    (b,) = _one(tmp_path, "belebele")
    assert b.prompt.startswith(f"P: {PASSAGE}\nQ: Kapan") and b.prompt.endswith(
        "D: Jam sepuluh\nAnswer:"
    )
    assert b.gold == 1 and b.lang == "id"
    assert [o.gold for o in _one(tmp_path, "openbookqa")] == [1, 0]
    (a,) = _one(tmp_path, "arc")
    assert a.prompt == "Question: Which is a metal?\nAnswer:" and a.choices[a.gold] == "iron"
    (g,) = _one(tmp_path, "gsm8k")
    assert g.answer == "1072" and g.prompt.endswith("Total?\nAnswer:")
    (q,) = _one(tmp_path, "gpqa")
    assert "What is H2O?\nPick one." in q.prompt and f"({'ABCD'[q.gold]}) water" in q.prompt
    (w,) = _one(tmp_path, "winogender")
    assert w.prompt.endswith("‘He’ refers to the") and w.choices == ["technician", "customer"]
    assert w.gold == 1
    (s,) = _one(tmp_path, "xstorycloze")
    assert s.choices[s.gold] == "The shop refunded her."


def test_unscorable_records_are_counted_not_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        items = _one(tmp_path, "shopping_mmlu")
    assert len(items) == 1 and items[0].answer == "0"
    assert "skipped 1 record(s)" in caplog.text and "ranking" in caplog.text


def test_translated_mmlu_csv_and_language_from_cli_arg(tmp_path):
    path = tmp_path / "mmlu_TH-TH.csv"
    path.write_text(",Question,A,B,C,D,Answer,Subject\n0,2+3?,4,5,6,7,B,math\n", encoding="utf-8")
    spec = parse_benchmark_arg(f"mmlu={path}")
    assert spec.name == "mmlu_th" and spec.lang == "th"
    (item,) = load_items(spec)
    assert item.gold == 1 and item.lang == "th"
    assert parse_benchmark_arg(f"mmlu:vi={path}").name == "mmlu_vi"
    assert lang_from_path("zsm_Latn.jsonl") == "ms"


BAD = [
    ("arc", {k: v for k, v in ARC.items() if k != "answerKey"}, "field 'answerKey' is missing"),
    ("arc", ARC | {"answerKey": "E"}, "'answerKey'='E' is not one of the labels"),
    ("belebele", FIXTURES["belebele"][1][0] | {"correct_answer_num": "5"}, "'correct_answer_num'"),
    ("hellaswag", FIXTURES["hellaswag"][1][0] | {"endings": []}, "'endings' must be a non-empty"),
    ("mmlu", FIXTURES["mmlu"][1][0] | {"answer": 4}, "'answer'=4 is not an answer among the 4"),
    ("gsm8k", {"question": "q", "answer": "42"}, "no '#### <number>'"),
    ("xcopa", FIXTURES["xcopa"][1][0] | {"question": "why"}, "'question'='why'"),
]


@pytest.mark.parametrize("name,bad,needle", BAD)
def test_bad_records_name_file_line_and_field(tmp_path, name, bad, needle):
    good = FIXTURES[name][1][0] if name != "arc" else ARC
    path = _write(tmp_path, f"{name}.jsonl", [good, bad])
    with pytest.raises(TaskFileError) as e:
        load_items(benchmark_spec(name, path))
    assert f"{path}:2" in str(e.value) and needle in str(e.value)


def test_bad_csv_names_its_line(tmp_path):
    path = tmp_path / "gpqa.csv"
    path.write_text('Question,Correct Answer\n"multi\nline",x\n', encoding="utf-8")
    with pytest.raises(TaskFileError, match=r"gpqa.csv:2: field 'Incorrect Answer 1' is missing"):
        load_items(benchmark_spec("gpqa", path))


def test_cli_scores_public_files_with_no_code_changes(micro_artifacts, tmp_path):
    from compass.cli import main

    args = ["eval", "--model", f"micro={micro_artifacts['ckpt']}", "--out", str(tmp_path / "o")]
    for name in ("belebele", "xcopa", "arc", "gsm8k"):
        fname, content = FIXTURES[name]
        args += ["--benchmark", f"{name}={_write(tmp_path, fname, content)}"]
    assert main([*args, "--max-tokens", "8"]) == 0
    res = json.loads((tmp_path / "o" / "results.json").read_text())["micro"]
    assert {r["task"] for r in res} == {"belebele_id", "xcopa_id", "arc", "gsm8k"}
    for r in res:
        main_metric = "acc" if r["kind"] == "mc" else "exact_match"
        assert r["n"] == 1 and r["metrics"][main_metric] in (0.0, 1.0)


def test_items_per_lang_keeps_the_first_n_of_each_language(tmp_path):
    from compass.eval.tasks import TaskSpec

    recs = [
        {"prompt": f"q{i}", "choices": ["a"], "answer": 0, "lang": "en" if i % 3 else "id"}
        for i in range(9)
    ]
    path = _write(tmp_path, "t.jsonl", recs)
    items = load_items(TaskSpec("t", str(path), items_per_lang=2))
    assert [(it.prompt, it.lang) for it in items] == [
        ("q0", "id"),
        ("q1", "en"),
        ("q2", "en"),
        ("q3", "id"),
    ]
