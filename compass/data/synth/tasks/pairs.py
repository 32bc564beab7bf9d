"""Preference pairs generated from the shared World in every language.

Four generated kinds (report §4.1's "better vs worse answer", built so the better one is known):

- ``arithmetic``: a shopping-cart problem answered in deep mode, the way the policy answers it:
  chosen is the right chain of steps and total, rejected a chain with one slip carried to a wrong
  total (``compass.data.synth.tasks.cot``); the steps travel as
  ``chosen_reasoning``/``rejected_reasoning``;
- ``language``: a question in language L; chosen answers in L, rejected gives the same facts in
  another language;
- ``grounding``: a product's price line (or its title, for an attribute) then a question;
  chosen states the price or attribute the text gives, rejected another product's (a
  hallucinated fact). The fact is in the prompt, so the pair tests grounding, not memory.

- ``fluency``: a fluent answer (a price or a short description) vs text spliced from short
  pieces of it and of another language (what a small policy samples at high temperature).

Language and grounding pairs come as twins whose roles swap (the same product asked in the other
language; the other product's text): every answer string is once chosen and once rejected, so a
reward model cannot fit them by liking a language or a price, only by reading the prompt (a tiny
one did exactly that without twins, and scored below chance on held-out grounding pairs).

A pair is ``{"prompt": str, "chosen": str, "rejected": str, "lang", "kind"}`` and, for an answer
with a think block, ``chosen_reasoning`` / ``rejected_reasoning`` (its text); ``compass.data.
synth.tasks.produce`` writes them in TRL's preference format.
"""

from __future__ import annotations

import random
from typing import Any

from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.render import attr_label, attr_value, title
from compass.data.synth.tasks.cart import make_cart_problem, money
from compass.data.synth.tasks.cot import wrong_chain
from compass.data.synth.world import World
from compass.languages import LANGS

Pair = dict[str, Any]


def _answer(lang: str, value: str) -> str:
    return get_lexicon(lang).answer.format(value=value)


def _arithmetic(w: World, lang: str, rng: random.Random) -> Pair:
    pr = make_cart_problem(lang, rng)
    x = pr.inputs
    bad = wrong_chain(x["q"], x["p"], x["s"], x["v"], rng)
    return {
        "prompt": pr.question,
        "chosen": pr.answer,
        "rejected": _answer(lang, money(bad.total, pr.currency)),
        "chosen_reasoning": "\n".join(pr.steps),
        "rejected_reasoning": "\n".join(bad.steps),
    }


def _short_description(w: World, p, lang: str, rng: random.Random) -> str:
    lines = w.describe(p, lang, rng).split("\n")
    return "\n".join([lines[0], lines[-1]])  # title and price: the same facts in every language


def _language(w: World, lang: str, rng: random.Random) -> list[Pair]:
    """A question in ``lang`` answered in ``lang`` (chosen) or another language, and its twin:
    the same product asked in the other language, where the roles swap."""
    p = rng.choice(w.products)
    other = rng.choice([x for x in LANGS if x != lang])
    seed = rng.random()
    texts = {x: _short_description(w, p, x, random.Random(seed)) for x in (lang, other)}
    return [
        {
            "prompt": get_lexicon(a).eval_prompts["product_question"].format(title=title(p, a)),
            "chosen": texts[a],
            "rejected": texts[b],
            "lang": a,
        }
        for a, b in ((lang, other), (other, lang))
    ]


def _price_prompt(w: World, p, lang: str, rng: random.Random) -> str | None:
    price = w.format_price(p, lang)
    lines = [x for x in w.describe(p, lang, rng).split("\n") if price in x]
    question = get_lexicon(lang).eval_prompts["product_question"].format(title=title(p, lang))
    return min(lines, key=len) + "\n" + question if lines else None


def _grounding(w: World, lang: str, rng: random.Random) -> list[Pair] | None:
    """A fact stated in the prompt (a price, an attribute) vs another product's, and its twin:
    the other product's text, where the roles swap. Each answer string is chosen once and
    rejected once, so only reading the prompt separates them (not remembering which is good)."""
    p = rng.choice(w.products)
    if rng.random() < 0.5:
        same = [q for q in w.in_category(p.category) if w.price(q, lang) != w.price(p, lang)]
        if not same:
            return None
        q = rng.choice(same)
        prompts = [_price_prompt(w, x, lang, rng) for x in (p, q)]
        if None in prompts:
            return None
        answers = [_answer(lang, w.format_price(x, lang)) for x in (p, q)]
        return [
            {"prompt": prompts[i], "chosen": answers[i], "rejected": answers[1 - i]} for i in (0, 1)
        ]
    attr = rng.choice(("colour", "material", "spec"))
    variant = rng.randrange(4)
    texts = {
        x.id: title(x, lang, variant) for x in rng.sample(w.products, min(30, len(w.products)))
    }
    texts[p.id] = title(p, lang, variant)
    value = attr_value(p, lang, attr)
    twins = [
        q
        for q in w.products
        if q.id in texts
        and (o := attr_value(q, lang, attr))
        and o != value
        and o in texts[q.id]
        and o not in texts[p.id]
        and value not in texts[q.id]
    ]
    if not value or value not in texts[p.id] or not twins:
        return None
    q = rng.choice(twins)
    label = attr_label(lang, attr)
    ask = get_lexicon(lang).eval_prompts["attribute_extraction"]
    values = [value, attr_value(q, lang, attr)]
    return [
        {
            "prompt": ask.format(text=texts[x.id], attr=label),
            "chosen": values[i],
            "rejected": values[1 - i],
        }
        for i, x in enumerate((p, q))
    ]


def _garble(text: str, other: str, rng: random.Random) -> str:
    """Text of about ``text``'s length spliced from short pieces of ``text`` and ``other``: the
    broken, script-mixing output a small policy samples at high temperature."""
    out = ""
    while len(out) < len(text):
        src = rng.choice((text, other))
        k = rng.randrange(len(src))
        out += src[k : k + rng.randint(1, 5)]
    return out


def _fluency(w: World, lang: str, rng: random.Random) -> Pair:
    """A fluent answer in the question's language vs a garbled one (the first thing online DPO
    needs from a reward model: never to prefer noise)."""
    p = rng.choice(w.products)
    other = rng.choice([x for x in LANGS if x != lang])
    prompt = get_lexicon(lang).eval_prompts["product_question"].format(title=title(p, lang))
    if rng.random() < 0.5:
        good = _answer(lang, w.format_price(p, lang))
    else:
        good = _short_description(w, p, lang, rng)
    bad = _garble(good, _short_description(w, p, other, rng), rng)
    return {"prompt": prompt, "chosen": good, "rejected": bad}


BUILDERS = {
    "arithmetic": _arithmetic,
    "language": _language,
    "grounding": _grounding,
    "fluency": _fluency,
}


def generate_pairs(
    world: World,
    langs: list[str],
    kinds: list[str],
    per_lang_kind: int,
    seed: int,
    stream: str,
    exclude: set[str] | frozenset[str] = frozenset(),
    per_kind: dict[str, int] | None = None,
) -> list[Pair]:
    """``per_lang_kind`` pairs of each kind (``per_kind[kind]`` where given) in each language from
    the stream ``stream``; prompts in ``exclude`` (another split's) are never used, so train and
    held-out pairs are disjoint."""
    pairs: list[Pair] = []
    for lang in langs:
        for kind in kinds:
            n = (per_kind or {}).get(kind, per_lang_kind)
            rng = random.Random(f"{stream}:{seed}:{kind}:{lang}")
            got = 0
            for _ in range(n * 20):
                group = BUILDERS[kind](world, lang, rng)
                group = [group] if isinstance(group, dict) else group or []
                if not group or any(
                    p["prompt"] in exclude or p["chosen"] == p["rejected"] for p in group
                ):
                    continue
                pairs += [{"lang": lang, **p, "kind": kind} for p in group[: n - got]]
                got = min(n, got + len(group))
                if got == n:
                    break
    return pairs
