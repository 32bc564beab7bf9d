"""Held-out evaluation items for the report's twelve e-commerce task categories (§3.1.2).

Multiple-choice items: ``{"type": "mc", "prompt", "choices", "answer": <index>}``; exact-answer
items (numerical reasoning): ``{"type": "exact", "prompt", "answer": "<formatted>",
"answer_minor", "currency", "solution"}``. Every item has ``id, lang, task, product_ids``.
Items come from their own random stream, so no evaluation text is a pretraining document; the
facts they ask about (prices, brands, attributes) are the world's, which pretraining teaches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from compass.data.synth.catalogue import CATEGORIES, COLOURS, MATERIALS
from compass.data.synth.dialogue import INTENTS
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_money, round_budget
from compass.data.synth.render import attr_label, attr_value, title
from compass.data.synth.reviews import SENTIMENTS
from compass.data.synth.world import Product, World

TASKS = (
    "brand_info",
    "attribute_extraction",
    "classification",
    "recommendation",
    "similarity",
    "numerical_reasoning",
    "info_generation",
    "product_question",
    "query_matching",
    "review_understanding",
    "query_rewriting",
    "dialogue_understanding",
)
Item = dict[str, Any]


def _mc(prompt: str, correct: str, distractors: list[str], rng: random.Random, pids: list[str]):
    options = list(dict.fromkeys(d for d in distractors if d != correct))[:3]
    if len(options) < 3:
        return None
    choices = [correct, *options]
    rng.shuffle(choices)
    return {
        "type": "mc",
        "prompt": prompt,
        "choices": choices,
        "answer": choices.index(correct),
        "product_ids": pids,
    }


def _brand_info(w: World, lang: str, rng: random.Random) -> Item | None:
    """Where a brand comes from, or when it was founded: facts its brand pages state."""
    lex = get_lexicon(lang)
    b = rng.choice(w.brands)
    if rng.random() < 0.5:
        others = [lex.countries[m] for m in rng.sample(sorted(lex.countries), 5) if m != b.market]
        prompt = lex.eval_prompts["brand_info"].format(brand=b.name)
        return _mc(prompt, lex.countries[b.market], others, rng, [])
    years = [str(y) for y in rng.sample(range(1978, 2022), 6) if y != b.year]
    prompt = lex.eval_prompts["brand_year"].format(brand=b.name)
    return _mc(prompt, str(b.year), years, rng, [])


def _attribute_extraction(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice(w.products)
    attr = rng.choice(("colour", "material", "spec"))
    value = attr_value(p, lang, attr)
    text = next((t for k in range(4) if value in (t := title(p, lang, k))), "")
    if not value or not text:
        return None
    others = [attr_value(q, lang, attr) for q in rng.sample(w.products, min(40, len(w.products)))]
    others = [o for o in others if o and o not in text]
    prompt = lex.eval_prompts["attribute_extraction"].format(text=text, attr=attr_label(lang, attr))
    return _mc(prompt, value, others, rng, [p.id])


def _classification(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice(w.products)
    others = [lex.nouns[c][0] for c in rng.sample(sorted(CATEGORIES), 6) if c != p.category]
    prompt = lex.eval_prompts["classification"].format(title=title(p, lang, rng.randrange(4)))
    return _mc(prompt, lex.nouns[p.category][0], others, rng, [p.id])


def _listing(w: World, p: Product, lang: str) -> str:
    return f"{title(p, lang)} — {w.format_price(p, lang)}"


def _recommendation(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice([q for q in w.products if q.colour])
    cur = w.currency(lang)
    budget = round_budget(p.prices[cur] * 11 // 10, cur)

    def fits(q: Product) -> bool:
        return q.category == p.category and q.colour == p.colour and q.prices[cur] <= budget

    others = [q for q in rng.sample(w.products, min(60, len(w.products))) if not fits(q)]
    others.sort(key=lambda q: q.category != p.category)  # hardest distractors first
    prompt = lex.eval_prompts["recommendation"].format(
        colour=lex.colours[p.colour],
        noun=lex.nouns[p.category][0],
        budget=format_money(budget, cur),
    )
    return _mc(prompt, _listing(w, p, lang), [_listing(w, q, lang) for q in others], rng, [p.id])


def _similarity(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice(w.products)
    twins = [q for q in w.products if q.group == p.group and q.id != p.id]
    if not twins:
        return None
    twin = rng.choice(twins)
    others = [
        title(q, lang)
        for q in rng.sample(w.products, min(12, len(w.products)))
        if q.category != p.category
    ]
    prompt = lex.eval_prompts["similarity"].format(title=title(p, lang))
    return _mc(prompt, title(twin, lang), others, rng, [p.id, twin.id])


def _numerical(w: World, lang: str, rng: random.Random) -> Item | None:
    pr = w.problem(lang, rng)
    return {
        "type": "exact",
        "prompt": pr.question,
        "answer": pr.answer,
        "answer_minor": pr.answer_minor,
        "currency": pr.currency,
        "kind": pr.kind,
        "solution": pr.solution,
        "inputs": pr.inputs,
        "product_ids": [pr.product_id] if pr.product_id else [],
    }


def _info_generation(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice(w.products)
    keys = [
        k for k in ("brand", "category", "colour", "material", "spec") if attr_value(p, lang, k)
    ]
    sep = "；" if lang == "zh" else "; "
    attrs = sep.join(f"{lex.labels[k]}: {attr_value(p, lang, k)}" for k in keys)
    # Distractors differ from p in at least one listed attribute, so exactly one title fits.
    shown = [attr_value(p, lang, k) for k in keys]
    same = [q for q in w.in_category(p.category) if [attr_value(q, lang, k) for k in keys] != shown]
    others = [title(q, lang) for q in rng.sample(same, min(8, len(same)))]
    prompt = lex.eval_prompts["info_generation"].format(attrs=attrs)
    return _mc(prompt, title(p, lang), others, rng, [p.id])


def _product_question(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    p = rng.choice(w.products)
    same = w.in_category(p.category)
    others = [w.format_price(q, lang) for q in rng.sample(same, min(10, len(same)))]
    prompt = lex.eval_prompts["product_question"].format(title=title(p, lang))
    return _mc(prompt, w.format_price(p, lang), others, rng, [p.id])


def _query_matching(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    q = w.query(lang, rng)
    if not q.relevant or len(q.irrelevant) < 3:
        return None
    good = rng.choice(q.relevant)
    bad = [title(w.product(i), lang) for i in q.irrelevant]
    prompt = lex.eval_prompts["query_matching"].format(query=q.text)
    return _mc(prompt, title(w.product(good), lang), bad, rng, [good])


def _review_understanding(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    r = w.review(rng.choice(w.products), lang, rng, sentiment=rng.choice(SENTIMENTS))
    prompt = lex.eval_prompts["review_understanding"].format(review=r.text)
    choices = [lex.sentiments[s] for s in SENTIMENTS]
    return {
        "type": "mc",
        "prompt": prompt,
        "choices": choices,
        "answer": SENTIMENTS.index(r.sentiment),
        "product_ids": [r.product_id],
    }


def _query_rewriting(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    q = w.query(lang, rng)
    if not q.casual or q.casual == q.text:
        return None
    swaps = []
    noun = (
        next(n for n in lex.nouns[q.category] if n in q.text)
        if any(n in q.text for n in lex.nouns[q.category])
        else ""
    )
    for key, table, pool in (
        ("colour", lex.colours, COLOURS),
        ("material", lex.materials, MATERIALS),
    ):
        if key in q.constraints:
            old = table[q.constraints[key]]
            swaps += [q.text.replace(old, table[o]) for o in rng.sample(pool, 4) if table[o] != old]
    if noun:
        swaps += [
            q.text.replace(noun, lex.nouns[c][0])
            for c in rng.sample(sorted(CATEGORIES), 4)
            if c != q.category
        ]
    rng.shuffle(swaps)
    prompt = lex.eval_prompts["query_rewriting"].format(query=q.casual)
    return _mc(prompt, q.text, swaps, rng, [])


def _dialogue_understanding(w: World, lang: str, rng: random.Random) -> Item | None:
    lex = get_lexicon(lang)
    d = w.dialogue(lang, rng)
    others = [lex.intents[i] for i in INTENTS if i != d.intent]
    prompt = lex.eval_prompts["dialogue_understanding"].format(message=d.first_message)
    return _mc(prompt, lex.intents[d.intent], rng.sample(others, 3), rng, [d.product_id])


BUILDERS: dict[str, Callable[[World, str, random.Random], Item | None]] = {
    "brand_info": _brand_info,
    "attribute_extraction": _attribute_extraction,
    "classification": _classification,
    "recommendation": _recommendation,
    "similarity": _similarity,
    "numerical_reasoning": _numerical,
    "info_generation": _info_generation,
    "product_question": _product_question,
    "query_matching": _query_matching,
    "review_understanding": _review_understanding,
    "query_rewriting": _query_rewriting,
    "dialogue_understanding": _dialogue_understanding,
}


def eval_items(
    world: World,
    task: str,
    lang: str,
    n: int,
    seed: int,
    exclude: set[str] | frozenset[str] = frozenset(),
    stream: str = "eval",
) -> list[Item]:
    """``n`` items of one task in one language, from the stream ``{stream}:{seed}:{task}:{lang}``.

    Training-set builders (SFT, preference pairs) call this with their own ``stream`` and
    ``exclude`` = the prompts of the held-out ``eval/*.jsonl`` items: knowledge questions about a
    finite world repeat (a brand has one founding year), and a repeated prompt would leak."""
    rng = random.Random(f"{stream}:{seed}:{task}:{lang}")
    items: list[Item] = []
    seen: set[str] = set(exclude)
    for _ in range(n * 20):
        item = BUILDERS[task](world, lang, rng)
        if item is None or item["prompt"] in seen:
            continue
        seen.add(item["prompt"])
        items.append({"id": f"{task}-{lang}-{len(items):04d}", "lang": lang, "task": task, **item})
        if len(items) == n:
            break
    return items
