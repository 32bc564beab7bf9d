"""SFT data: every category and language, checked samples, named rejects, no eval leakage."""

import json
import random
from collections import Counter

import pytest

from compass.data.synth.config import LANGS
from compass.data.synth.tasks.cart import KINDS, cart_problems, eval_item, make_cart_problem
from compass.data.synth.tasks.config import SFTTasksConfig
from compass.data.synth.tasks.sft_samples import CATEGORIES, generate_language
from compass.data.synth.world import World
from compass.posttrain.answers import check_answer
from compass.posttrain.formats import read_samples
from compass.posttrain.sft.records import check_sample


@pytest.fixture(scope="module")
def world():
    return World.build(seed=7, n_products=80)


def test_cart_steps_recompute_the_total_and_the_checker_reads_every_currency():
    for lang in LANGS:
        rng = random.Random(lang)
        for kind in KINDS:
            pr = make_cart_problem(lang, rng, kind)
            i = pr.inputs
            assert pr.total == i["q"] * i["p"] + i["s"] - i["v"] > 0
            assert len(pr.steps) == 1 + bool(i["s"]) + bool(i["v"])
            for step in pr.steps:  # every "=" in a step holds: 48 + 7 = 40 + 15 = 55
                sides = [eval(x.replace("×", "*")) for x in step.split("=")]
                assert len(set(sides)) == 1, step
            assert pr.steps[-1].endswith(f"= {pr.total}")
            item = eval_item(pr, 0)
            assert check_answer(pr.answer, item), (lang, pr.answer)
            assert not check_answer(pr.answer.replace(str(pr.total), str(pr.total + 1)), item)


def test_held_out_cart_questions_never_reach_training(world):
    held = {p.question for p in cart_problems("en", 30, 1, "eval")}
    cfg = SFTTasksConfig(
        stage1_per_lang=32,
        stage2_per_lang=16,
        cart_cot_per_lang=60,
        cart_fast_per_lang=30,
        math_cot_per_lang=4,
    )
    samples = generate_language(world, "en", cfg, 1234, set(), held)
    assert not held & {s["messages"][0]["content"] for s in samples}


def test_generator_covers_categories_languages_forms_and_passes_its_own_checks(world):
    cfg = SFTTasksConfig(
        stage1_per_lang=48,
        stage2_per_lang=16,
        cart_cot_per_lang=8,
        cart_fast_per_lang=8,
        math_cot_per_lang=4,
    )
    samples = [
        s
        for lang in ("en", "zh", "th", "tl")
        for s in generate_language(world, lang, cfg, 1234, set(), set())
    ]
    assert all(check_sample(s) is None for s in samples)
    assert set(CATEGORIES) <= {s["category"] for s in samples} | {"understanding"}
    assert {s["category"] for s in samples} >= set(CATEGORIES) - {"understanding"}
    forms = Counter(s.get("form") for s in samples if s["category"] == "ecommerce")
    assert forms["mc"] and forms["generative"]
    assert any(len([m for m in s["messages"] if m["role"] == "user"]) > 1 for s in samples)
    agent = [s for s in samples if s["category"] == "agent"]
    assert agent and all(s["tools"] for s in agent)
    call = agent[0]["messages"][1]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"])["query"]
    cot = [s for s in samples if s["long_cot"]]
    assert cot and all(s["messages"][-1].get("reasoning_content") for s in cot)
    assert {s["stage"] for s in samples} == {1, 2}


def test_bad_samples_are_rejected_with_a_named_reason(tmp_path):
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    call = {"function": {"name": "f", "arguments": "{not json"}}
    bad = [
        {"messages": [{"content": "no role"}, {"role": "assistant", "content": "x"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]},
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "", "tool_calls": [call]},
            ]
        },
        {"messages": [{"role": "user", "content": "q"}]},
    ]
    f = tmp_path / "chat.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in [good, *bad]) + "\n{oops\n")
    kept, rejects = read_samples([f])
    assert len(kept) == 1 and kept[0]["stage"] == 1 and kept[0]["long_cot"] is False
    assert rejects == Counter(
        {
            "message without role": 1,
            "empty assistant turn": 1,
            "invalid tool-call JSON": 1,
            "no assistant turn": 1,
            "invalid JSON line": 1,
        }
    )
