"""Preference pairs from the World, JSONL pairs with bad lines, and the math answer checker."""

import json
import random
from collections import Counter

import pytest

from compass.data.synth.config import LANGS
from compass.data.synth.tasks.cart import make_cart_problem
from compass.data.synth.tasks.config import PAIR_KINDS
from compass.data.synth.tasks.pairs import generate_pairs
from compass.data.synth.world import World
from compass.posttrain.answers import _MARKER_RE, check_answer, final_answer, has_verifiable_answer
from compass.posttrain.formats import read_pairs
from compass.posttrain.inputs import InputError


@pytest.fixture(scope="module")
def world():
    return World.build(7, n_products=120, n_shops=10, n_users=40)


def test_pairs_cover_every_language_and_kind_and_splits_are_disjoint(world):
    held = generate_pairs(world, list(LANGS), list(PAIR_KINDS), 2, 1, "pref-heldout")
    train = generate_pairs(
        world, list(LANGS), list(PAIR_KINDS), 3, 1, "pref-train", {p["prompt"] for p in held}
    )
    assert {(p["lang"], p["kind"]) for p in train} == {(x, k) for x in LANGS for k in PAIR_KINDS}
    assert not {p["prompt"] for p in train} & {p["prompt"] for p in held}
    assert all(p["chosen"] != p["rejected"] and p["chosen"].strip() for p in train + held)


def test_per_kind_counts_override_the_default(world):
    base = generate_pairs(world, ["en"], ["arithmetic", "fluency"], 2, 1, "pref-train")
    more = generate_pairs(
        world, ["en"], ["arithmetic", "fluency"], 2, 1, "pref-train", per_kind={"arithmetic": 5}
    )
    assert Counter(p["kind"] for p in more) == {"arithmetic": 5, "fluency": 2}
    arith = [p for p in more if p["kind"] == "arithmetic"]
    assert arith[:2] == [p for p in base if p["kind"] == "arithmetic"]  # the same stream, longer


def test_arithmetic_pairs_state_different_totals(world):
    for p in generate_pairs(world, list(LANGS), ["arithmetic"], 4, 2, "pref-train"):
        assert final_answer(p["chosen"]) != final_answer(p["rejected"]), p


def test_arithmetic_pairs_checked_against_the_problem(world):
    rng = random.Random("pref-train:5:arithmetic:id")
    pr = make_cart_problem("id", rng)
    pair = generate_pairs(world, ["id"], ["arithmetic"], 1, 5, "pref-train")[0]
    assert pair["prompt"] == pr.question
    assert pair["chosen_reasoning"] == "\n".join(pr.steps)
    item = {"answer": pr.answer, "answer_minor": pr.answer_minor, "currency": pr.currency}
    assert check_answer(pair["chosen"], item)
    assert not check_answer(pair["rejected"], item)


def _fact(text):
    """The stated price (after an answer marker) or the bare attribute value."""
    return final_answer(text) if _MARKER_RE.search(text) else text


def test_grounding_pairs_carry_the_fact_in_the_prompt_and_come_as_twins(world):
    pairs = generate_pairs(world, list(LANGS), ["grounding"], 6, 3, "pref-train")
    for p in pairs:
        assert _fact(p["chosen"]) in p["prompt"], p
        assert _fact(p["rejected"]) not in p["prompt"], p
    for a, b in zip(pairs[::2], pairs[1::2]):
        assert (a["chosen"], a["rejected"]) == (b["rejected"], b["chosen"])


def test_language_pairs_come_as_twins(world):
    pairs = generate_pairs(world, list(LANGS), ["language"], 4, 3, "pref-train")
    for a, b in zip(pairs[::2], pairs[1::2]):
        assert (a["chosen"], a["rejected"]) == (b["rejected"], b["chosen"])
        assert a["lang"] != b["lang"]


def test_read_pairs_counts_every_bad_line(tmp_path):
    rows = [
        {"prompt": "q", "chosen": "a", "rejected": "b"},
        {"prompt": [{"role": "user", "content": "q"}], "chosen": "a", "rejected": "c"},
        {"prompt": "q", "chosen": "same", "rejected": "same"},
        {"prompt": "q", "chosen": "  ", "rejected": "b"},
        {"prompt": "q", "chosen": "a"},
    ]
    f = tmp_path / "p.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    pairs, skipped = read_pairs([f])
    assert len(pairs) == 2
    assert skipped == Counter(
        {
            "chosen equals rejected": 1,
            "empty response": 1,
            "missing 'chosen' or 'rejected'": 1,
            "invalid JSON line": 1,
        }
    )
    with pytest.raises(InputError, match=r"missing\.jsonl: no such file"):
        read_pairs([tmp_path / "missing.jsonl"])


@pytest.mark.parametrize(
    "text,ok",
    [
        ("Subtotal: 2 × Rp 50.000 = Rp 100.000.\nJawaban: Rp 100.000", True),
        ("Jawaban: Rp 100.000.", True),
        ("答案：Rp 100.000", True),
        ("Jawaban: Rp 90.000", False),
        ("the total is Rp 100.000", True),  # no marker: the last amount
        ("", False),
        ("Jawaban:", False),
    ],
)
def test_check_answer(text, ok):
    item = {"answer": "Rp 100.000", "answer_minor": 100000, "currency": "IDR"}
    assert check_answer(text, item) is ok


def test_final_answer_takes_the_last_marker():
    assert final_answer("Answer: $1.00\nwait\nAnswer: $2.00") == "$2.00"
    assert final_answer("no number here") == ""


def test_verifiable_answer():
    assert has_verifiable_answer({"answer": "$5.50"})
    assert not has_verifiable_answer({"answer": " "})
    assert not has_verifiable_answer({"prompt": "x"})
