"""General text so the corpus is not only shopping: everyday prose, code, and worked math.

Code and math documents exist so curation has documents that prose filters would wrongly drop
(symbol-heavy, short lines, no terminal punctuation); their comments and words are in ``lang``.
"""

from __future__ import annotations

import random

from compass.data.synth.catalogue import MARKETS
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.render import fill, join_sentences


def prose_doc(lang: str, rng: random.Random) -> str:
    lex = get_lexicon(lang)
    cities = [c for m in MARKETS.values() if m[0] == lang for c in m[2]] or ["Singapore"]
    slots = {
        "city": rng.choice(cities),
        "food": rng.choice(lex.foods),
        "activity": rng.choice(lex.activities),
        "day": rng.choice(lex.days),
        "weather": rng.choice(lex.weather),
        "name": rng.choice(lex.names),
        "n": str(rng.randint(2, 40)),
        "hour": str(rng.randint(5, 9)),
    }
    picked = rng.sample(lex.prose, rng.randint(4, min(8, len(lex.prose))))
    paragraphs = []
    while picked:
        take, picked = picked[: rng.randint(2, 4)], picked[4:]
        paragraphs.append(join_sentences([s for t in take if (s := fill(t, slots))], lang))
    return "\n\n".join(p for p in paragraphs if p)


_CODE = (
    '''def {f}(price: int, percent: int) -> int:
    """{discount}"""
    cut = price * percent // 100
    return price - cut


print({f}({a}, {p}))  # {a} -> {r1}
''',
    """def {f}(items: list[tuple[int, int]], fee: int, free_from: int) -> int:
    # {total}
    subtotal = sum(price * qty for price, qty in items)
    if subtotal >= free_from:
        return subtotal
    return subtotal + fee


cart = [({a}, {q}), ({b}, 1)]
assert {f}(cart, {fee}, {free}) == {r2}
""",
    '''def {f}(price: int, amount: int) -> int:
    """{unit}"""
    if amount <= 0:
        raise ValueError("amount must be positive")
    return price * 100 // amount


for pack in [({a}, {q}00), ({b}, {q2}00)]:
    print(pack, {f}(*pack))
''',
    """function {f}(price, months) {{
  // {instal}
  const each = Math.floor(price / months);
  // {check}
  if (each < 0) throw new Error("bad price");
  return each;
}}

console.log({f}({a}, {m}));
""",
)
_FUNCS = ("apply_discount", "cart_total", "unit_price", "split_payment", "calc", "compute_total")


def code_doc(lang: str, rng: random.Random) -> str:
    c = get_lexicon(lang).code_comments
    a, b = rng.randrange(1000, 90000, 10), rng.randrange(1000, 90000, 10)
    q, p, fee, free = rng.randint(1, 5), rng.choice((10, 20, 25, 50)), rng.choice((300, 500)), 20000
    sub = a * q + b
    slots = {
        **c,
        "f": rng.choice(_FUNCS),
        "a": a,
        "b": b,
        "q": q,
        "q2": q + 1,
        "p": p,
        "fee": fee,
        "free": free,
        "m": rng.choice((3, 6, 12)),
        "r1": a - a * p // 100,
        "r2": sub if sub >= free else sub + fee,
    }
    parts = rng.sample(_CODE, rng.randint(1, 2))
    return "\n\n".join(t.format(**slots) for t in parts).strip() + "\n"


def math_doc(lang: str, rng: random.Random) -> str:
    w = get_lexicon(lang).math_words
    lines = []
    for _ in range(rng.randint(2, 4)):
        kind = rng.randrange(4)
        if kind == 0:
            a, x, b = rng.randint(2, 9), rng.randint(1, 20), rng.randint(1, 30)
            c = a * x + b
            lines += [
                f"{w['solve']}: ${a}x + {b} = {c}$.",
                f"{w['subtract'].format(a=b)}: ${a}x = {c - b}$.",
                f"{w['divide'].format(a=a)}: $x = {x}$.",
                f"{w['so']} $x = {x}$.",
            ]
        elif kind == 1:
            a, b = rng.choice((5, 10, 15, 20, 25, 50)), rng.randrange(20, 2000, 20)
            lines.append(
                f"{w['percent'].format(a=a, b=b)} ${b} \\times {a} / 100 = {b * a // 100}$."
            )
        elif kind == 2:
            a, b = rng.randint(2, 30), rng.randint(2, 30)
            lines.append(f"{w['area'].format(a=a, b=b)} ${a} \\times {b} = {a * b}$.")
        else:
            n = rng.randint(5, 100)
            lines.append(f"{w['sum'].format(n=n)} $\\frac{{n(n+1)}}{{2}} = {n * (n + 1) // 2}$.")
        lines.append("")
    return "\n".join(lines).strip()
