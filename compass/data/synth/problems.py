"""Numerical-reasoning problems from the shop floor, with step-by-step solutions.

Kinds: discount, bundle (buy k get 1 free), voucher (minimum spend), shipping (free-shipping
threshold), unit_price (price per 100 ml/g of two packs), instalment (0% monthly split).
All arithmetic is on integer minor units and every input is chosen so each step is exact (a 15%
discount is only put on prices it divides), so a small model sees consistent arithmetic and a
checker can recompute every answer from ``Problem.inputs``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from compass.data.synth.facts import Facts, Product
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_money, format_number, round_price
from compass.data.synth.render import fill, sentence_case

KINDS = ("discount", "bundle", "voucher", "shipping", "unit_price", "instalment")
_PCTS = (10, 15, 20, 25, 30, 40, 50)


@dataclass
class Problem:
    kind: str
    lang: str
    question: str
    steps: list[str]
    answer: str  # formatted final answer, e.g. "Rp 150.000"
    answer_minor: int  # the same amount in minor units of ``currency``
    currency: str
    inputs: dict[str, int | str] = field(default_factory=dict)
    product_id: str = ""

    @property
    def solution(self) -> str:
        return "\n".join(self.steps)

    def render(self) -> str:
        answer = get_lexicon(self.lang).answer.format(value=self.answer)
        return f"{self.question}\n{self.solution}\n{answer}"


def short_name(p: Product, lang: str) -> str:
    noun = get_lexicon(lang).nouns[p.category][0]
    return f"{p.brand} {p.model}{'' if lang == 'zh' else ' '}{noun}"


def make_problem(world: Facts, lang: str, rng: random.Random, kind: str | None = None) -> Problem:
    kind = kind or rng.choice(KINDS)
    cur = world.currency(lang, rng)
    build = {
        "discount": _discount,
        "bundle": _bundle,
        "voucher": _voucher,
        "shipping": _shipping,
        "unit_price": _unit_price,
        "instalment": _instalment,
    }[kind]
    return build(world, lang, cur, rng)


def _finish(kind, lang, cur, rng, slots, steps, total, inputs, pid="") -> Problem:
    lex = get_lexicon(lang)
    slots = {**slots, "name": rng.choice(lex.names)}
    question = fill(rng.choice(lex.problems[kind]), slots)
    assert question is not None, f"{lang}:{kind} question template has an unknown slot"
    question = sentence_case(question)
    text_steps = [lex.steps[key].format(**{**slots, **extra}) for key, extra in steps]
    return Problem(
        kind, lang, question, text_steps, format_money(total, cur), total, cur, inputs, pid
    )


def _money(cur: str, **amounts: int) -> dict[str, str]:
    """Template slots for amounts in minor units, written in the currency's local format."""
    return {k: format_money(v, cur) for k, v in amounts.items()}


def _base(world: Facts, p: Product, lang: str, cur: str, qty: int) -> dict:
    noun = get_lexicon(lang).nouns[p.category][0]
    return {
        "product": short_name(p, lang),
        "noun": noun,
        "price": format_money(p.prices[cur], cur),
        "qty": str(qty),
    }


def _discount(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    while True:
        p = rng.choice(world.products)
        price = p.prices[cur]
        pcts = [d for d in _PCTS if price * d % 100 == 0]
        if pcts:
            break
    pct, qty = rng.choice(pcts), rng.choice((1, 1, 2, 3, 4))
    cut = price * pct // 100
    unit = price - cut
    total = unit * qty
    m = {
        **_money(cur, cut=cut, unit=unit, total=total),
    }
    slots = {**_base(world, p, lang, cur, qty), "pct": str(pct), **m}
    steps = [("disc_cut", {}), ("disc_after", {})] + ([("times_qty", {})] if qty > 1 else [])
    return _finish(
        "discount",
        lang,
        cur,
        rng,
        slots,
        steps,
        total,
        {"price": price, "pct": pct, "qty": qty},
        p.id,
    )


def _bundle(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    p = rng.choice(world.products)
    price = p.prices[cur]
    k = rng.choice((1, 2, 3))
    group = k + 1
    qty = group * rng.randint(1, 3) + rng.randint(0, k)
    free = qty // group
    paid = qty - free
    total = paid * price
    slots = {
        **_base(world, p, lang, cur, qty),
        "k": str(k),
        "group": str(group),
        "free": str(free),
        "paid": str(paid),
        "total": format_money(total, cur),
    }
    return _finish(
        "bundle",
        lang,
        cur,
        rng,
        slots,
        [("bundle_sets", {}), ("bundle_pay", {})],
        total,
        {"price": price, "k": k, "qty": qty},
        p.id,
    )


def _voucher(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    p = rng.choice(world.products)
    price, qty = p.prices[cur], rng.choice((1, 2, 3))
    subtotal = price * qty
    minspend = round_price(rng.choice((10, 15, 20, 30, 50, 80)), cur, charm=False)
    voucher = round_price(rng.choice((1, 2, 3, 5)), cur, charm=False)
    total = subtotal - voucher if subtotal >= minspend else subtotal
    slots = {
        **_base(world, p, lang, cur, qty),
        **_money(cur, subtotal=subtotal, minspend=minspend, voucher=voucher, total=total),
    }
    steps = [("subtotal", {}), ("voucher_ok" if subtotal >= minspend else "voucher_no", {})]
    return _finish(
        "voucher",
        lang,
        cur,
        rng,
        slots,
        steps,
        total,
        {"price": price, "qty": qty, "minspend": minspend, "voucher": voucher},
        p.id,
    )


def _shipping(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    p = rng.choice(world.products)
    price, qty = p.prices[cur], rng.choice((1, 2, 3, 4))
    fee, threshold = world.shop_fees(world.shop(p.shop_id), cur)
    subtotal = price * qty
    total = subtotal if subtotal >= threshold else subtotal + fee
    slots = {
        **_base(world, p, lang, cur, qty),
        **_money(cur, subtotal=subtotal, fee=fee, threshold=threshold, total=total),
    }
    steps = [("subtotal", {}), ("ship_free" if subtotal >= threshold else "ship_add", {})]
    return _finish(
        "shipping",
        lang,
        cur,
        rng,
        slots,
        steps,
        total,
        {"price": price, "qty": qty, "fee": fee, "threshold": threshold},
        p.id,
    )


def _unit_price(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    cat = rng.choice(("shampoo", "sunscreen", "coffee", "water_bottle"))
    unit = "g" if cat == "coffee" else "ml"
    ka, kb = rng.sample((2, 3, 4, 5, 8, 10), 2)
    ua = round_price(rng.uniform(0.4, 3.0), cur, charm=False)
    ub = ua
    while ub == ua:
        ub = round_price(rng.uniform(0.4, 3.0), cur, charm=False)
    best, pack = (ua, "A") if ua < ub else (ub, "B")
    lex = get_lexicon(lang)

    def qty(n: int) -> str:  # "500 ml", "500毫升", "500 มล."
        return lex.measure[unit].format(n=format_number(n, lang))

    slots = {
        "noun": lex.nouns[cat][0],
        "qa": qty(ka * 100),
        "pa": format_money(ua * ka, cur),
        "qb": qty(kb * 100),
        "pb": format_money(ub * kb, cur),
        "base": qty(100),
        "pack": pack,
    }
    steps = [
        ("unit", {"pack": "A", "p": slots["pa"], "k": ka, "u": format_money(ua, cur)}),
        ("unit", {"pack": "B", "p": slots["pb"], "k": kb, "u": format_money(ub, cur)}),
        ("unit_pick", {}),
    ]
    return _finish(
        "unit_price",
        lang,
        cur,
        rng,
        slots,
        steps,
        best,
        {"qa": ka * 100, "pa": ua * ka, "qb": kb * 100, "pb": ub * kb, "pack": pack},
    )


def _instalment(world: Facts, lang: str, cur: str, rng: random.Random) -> Problem:
    while True:
        p = rng.choice(world.products)
        price = p.prices[cur]
        months = [m for m in (3, 6, 12, 2, 4) if price % m == 0]
        if months:
            break
    m = rng.choice(months)
    slots = {
        **_base(world, p, lang, cur, 1),
        "months": str(m),
        "monthly": format_money(price // m, cur),
    }
    return _finish(
        "instalment",
        lang,
        cur,
        rng,
        slots,
        [("instal", {})],
        price // m,
        {"price": price, "months": m},
        p.id,
    )
