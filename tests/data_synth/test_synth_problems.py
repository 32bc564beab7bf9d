"""Numerical problems: every answer and every written step recomputed by an independent oracle."""

from __future__ import annotations

import random

import pytest

from compass.data.synth.config import LANGS
from compass.data.synth.money import format_money, parse_money
from compass.data.synth.problems import KINDS
from compass.data.synth.world import World
from tests.reference import shop_math


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(seed=7, n_products=150, n_shops=15, n_users=60)


@pytest.mark.parametrize("lang", LANGS)
def test_answers_and_steps_recomputed(world: World, lang: str) -> None:
    rng = random.Random(f"check:{lang}")
    for kind in KINDS:
        for _ in range(25):
            pr = world.problem(lang, rng, kind)
            want = shop_math.solve(kind, pr.inputs)
            assert pr.answer_minor == want, (pr.question, pr.inputs)
            assert pr.answer == shop_math.money(want, pr.currency)
            # The answer line is the last line and states the same amount.
            last = pr.render().splitlines()[-1]
            assert last.endswith(shop_math.money(want, pr.currency))
            # Every money input appears, formatted the local way, in the question.
            for key in ("price", "fee", "threshold", "voucher", "minspend", "pa", "pb"):
                if key in pr.inputs:
                    assert shop_math.money(pr.inputs[key], pr.currency) in pr.question, key
            checked = shop_math.check_steps(pr.solution, pr.currency)
            if not (lang == "zh" and kind == "unit_price"):  # zh writes "= 每100 ml ¥4.00"
                assert checked >= 1, pr.solution


def test_local_formats_match_the_brief() -> None:
    cases = {
        ("IDR", 150000): "Rp 150.000",
        ("MYR", 4590): "RM 45.90",
        ("THB", 1290): "฿1,290",
        ("VND", 250000): "250.000 ₫",
        ("PHP", 129900): "₱1,299.00",
        ("BRL", 8990): "R$ 89,90",
        ("BRL", 129990): "R$ 1.299,90",
        ("USD", 1950): "$19.50",
        ("CNY", 12900): "¥129.00",
        ("TWD", 1290): "NT$1,290",
    }
    for (cur, minor), text in cases.items():
        assert format_money(minor, cur) == text
        assert shop_math.money(minor, cur) == text
        assert parse_money(f"only {text} today", cur) == minor


def test_money_round_trip_random() -> None:
    rng = random.Random(0)
    for cur in shop_math.FORMATS:
        for _ in range(200):
            minor = rng.randrange(0, 10**9)
            text = format_money(minor, cur)
            assert text == shop_math.money(minor, cur)
            assert parse_money(text, cur) == minor
