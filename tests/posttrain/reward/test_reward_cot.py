"""Cart chains of thought against a plain evaluator of their lines, and the deep-mode layout."""

import random
import re

import pytest

from compass.data.synth.tasks.cot import SLIPS, chain, wrong_chain

LINE = re.compile(r"^(\d+) ([×+-]) (\d+) = (-?\d+)$")


def _evaluate(steps):
    """Oracle: each line as (left, op, right, stated result, true result)."""
    out = []
    for s in steps:
        a, op, b, c = LINE.match(s).groups()
        a, b, c = int(a), int(b), int(c)
        out.append((a, op, b, c, {"×": a * b, "+": a + b, "-": a - b}[op]))
    return out


def _inputs(rng):
    q, p = rng.randint(2, 9), rng.randint(2, 9)
    s = rng.choice([0, rng.randint(1, 9)])
    v = rng.choice([0, rng.randint(1, min(9, q * p + s - 1))])
    return q, p, s, v


def test_right_chain_matches_the_oracle():
    rng = random.Random(0)
    for _ in range(200):
        q, p, s, v = _inputs(rng)
        c = chain(q, p, s, v)
        lines = _evaluate(c.steps)
        assert all(stated == true for *_, stated, true in lines)
        assert lines[0][:3] == (q, "×", p)
        assert [x[2] for x in lines[1:]] == [x for x in (s, v) if x]
        assert all(lines[i][0] == lines[i - 1][3] for i in range(1, len(lines)))
        assert c.total == q * p + s - v == lines[-1][3]


@pytest.mark.parametrize("slip", SLIPS)
def test_each_slip_is_one_visible_mistake_with_a_wrong_total(slip):
    rng = random.Random(slip)
    for _ in range(200):
        q, p, s, v = _inputs(rng)
        if slip == "skip" and not (s or v):
            continue
        right, bad = chain(q, p, s, v), wrong_chain(q, p, s, v, rng, slip)
        assert bad.total != right.total and bad.total > 0
        lines = _evaluate(bad.steps)
        chained = all(lines[i][0] == lines[i - 1][3] for i in range(1, len(lines)))
        wrong_facts = sum(stated != true for *_, stated, true in lines)
        if slip == "final":
            assert bad.steps == right.steps
        elif slip == "fact":
            assert wrong_facts == 1 and chained and len(lines) == len(right.steps)
            assert bad.total == lines[-1][3]
        elif slip == "operand":
            assert wrong_facts == 0 and chained and lines[0][:3] != (q, "×", p)
            assert bad.total == lines[-1][3]
        else:
            assert wrong_facts == 0 and chained and len(lines) == len(right.steps) - 1
            assert bad.total == lines[-1][3]
