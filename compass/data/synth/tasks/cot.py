"""Shopping-cart chains of thought, right and subtly wrong: the reward model's arithmetic pairs.

The policy answers a cart problem (``compass.data.synth.tasks.cart``) in deep mode by writing one
step per line (``7 × 8 = 56``, ``56 + 4 = 60``, ``60 - 7 = 53``) and then the answer. A wrong
answer of a small model goes wrong in one of a few ways, and each rejected chain here makes
exactly one of those slips, carried consistently to the end, so the final answer is always wrong:

- ``final``: the steps are right but the answer does not state their result;
- ``fact``: one step's result is off (``9 × 9 = 45``; a product mostly by a table row);
- ``operand``: the first step copies a quantity or price that is not the question's;
- ``skip``: the shipping fee or the voucher is left out.

Each slip can be seen in the text (compare the answer with the last step, check a times-table
fact, compare with the question, count the clauses), so a small reward model can learn to spot
it, which is what Best-of-N over the policy's deep-mode answers needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SLIPS = ("final", "fact", "operand", "skip")


@dataclass
class Chain:
    steps: list[str]
    total: int  # what the answer states, whole major units


def chain(q: int, p: int, s: int, v: int) -> Chain:
    """The right chain: ``q × p``, then ``+ s`` when there is shipping, ``- v`` for a voucher."""
    return _chain([q, p, s, v], {})


def _chain(x: list[int], off: dict[int, int]) -> Chain:
    """The chain of inputs ``x`` = [q, p, s, v] with ``off[i]`` added to step ``i``'s result."""
    q, p, s, v = x
    a = q * p + off.get(0, 0)
    steps, total = [f"{q} × {p} = {a}"], a
    for op, amount in (("+", s), ("-", v)):
        if amount:
            new = total + amount if op == "+" else total - amount
            new += off.get(len(steps), 0)
            steps.append(f"{total} {op} {amount} = {new}")
            total = new
    return Chain(steps, total)


# How often each slip is drawn: a small policy's wrong chains are mostly wrong facts, above all
# a times-table product swapped for a neighbouring one (4 × 9 = 24); the other slips are rarer.
SLIP_WEIGHTS = {"final": 0.15, "fact": 0.6, "operand": 0.15, "skip": 0.1}
# Measured on the tiny SFT policy: 95% of its wrong deep-mode chains are a wrong sum or difference
# (step 2 or 3), mostly off by an even amount. Slips drawn that way (fact 0.85, 95% on those steps)
# were tried: the reward model told them apart no better (held-out 0.52), its soup fell below its
# best run and Best-of-N did not improve, so these weights stayed.


def _fact_offset(q: int, p: int, step: int, rng: random.Random) -> int:
    """How far a wrong fact lands from the right one: for the product, usually onto another
    row of the times table (q × p' for a nearby p'), else a few units off."""
    if step == 0 and rng.random() < 0.7:
        return q * (p + rng.choice([-2, -1, 1, 2])) - q * p
    return rng.choice([-10, -3, -2, -1, 1, 2, 3, 10])


def wrong_chain(q: int, p: int, s: int, v: int, rng: random.Random, slip: str = "") -> Chain:
    """A chain with one slip (``slip`` or a random applicable one); its total is never right."""
    right = chain(q, p, s, v)
    slips = [x for x in SLIPS if x != "skip" or s or v]
    slip = slip or rng.choices(slips, [SLIP_WEIGHTS[x] for x in slips])[0]
    for _ in range(20):
        d = rng.choice([-3, -2, -1, 1, 2, 3, 10, -10])
        if slip == "final":
            bad = Chain(right.steps, right.total + d)
        elif slip == "fact":
            k = rng.randrange(len(right.steps))
            bad = _chain([q, p, s, v], {k: _fact_offset(q, p, k, rng)})
        elif slip == "operand":
            i = rng.randrange(2)
            x = [q, p, s, v]
            x[i] = min(9, max(1, x[i] + (1 if d > 0 else -1) * rng.randint(1, 3)))
            bad = _chain(x, {})
        elif slip == "skip":
            x = [q, p, s, v]
            x[rng.choice([i for i in (2, 3) if x[i]])] = 0
            bad = _chain(x, {})
        else:
            raise ValueError(f"unknown slip {slip!r}: choose from {SLIPS}")
        results = [int(x.split(" = ")[1]) for x in bad.steps] + [bad.total]
        if bad.total != right.total and min(results) > 0:
            return bad
    return Chain(right.steps, right.total + 1)
