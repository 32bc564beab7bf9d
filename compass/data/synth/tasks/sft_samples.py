"""Instruction data from the world every other stage uses (report §3.1): ten categories, the
twelve e-commerce task types, eight languages, generative and multiple-choice forms, multi-turn
dialogues, code-mixed user turns, function calling with a ``tools`` field, and long chain-of-
thought samples whose ``reasoning_content`` the deep mode renders inside ``<think>``.

A sample is a JSON object: ``messages`` (OpenAI chat format), optional ``tools``, and metadata
``id, lang, category, task, stage (1|2), long_cot (bool)``. ``long_cot`` samples are rendered
with ``enable_thinking=True``; every other sample in fast mode (an empty think block), so one
model learns both modes. Training never sees an evaluation prompt: e-commerce items come from
the ``sft`` stream of ``evalgen`` with the held-out prompts excluded.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from compass.data.synth.evalgen import TASKS, eval_items
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import CURRENCIES, format_money, round_budget
from compass.data.synth.problems import KINDS as PROBLEM_KINDS
from compass.data.synth.tasks.cart import cart_problems
from compass.data.synth.tasks.templates import CODE, SEARCH_TOOL, T
from compass.data.synth.world import World

CATEGORIES = (
    "safety",
    "knowledge",
    "understanding",
    "mathematics",
    "reasoning",
    "creative",
    "coding",
    "ecommerce",
    "agent",
    "platform",
)
Sample = dict[str, Any]


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _bot(text: str, reasoning: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning:
        m["reasoning_content"] = reasoning
    return m


def ecommerce_from_item(item: dict[str, Any], lang: str, rng: random.Random) -> Sample:
    """An evalgen item as an instruction: multiple-choice (letters) or generative (the answer)."""
    if item["type"] == "exact":  # numerical reasoning: fast answer; its long-CoT twin is separate
        answer = get_lexicon(lang).answer.format(value=item["answer"])
        return {"messages": [_user(item["prompt"]), _bot(answer)], "form": "generative"}
    correct = item["choices"][item["answer"]]
    if rng.random() < 0.5:
        letters = "ABCD"
        opts = "\n".join(f"{letters[i]}. {c}" for i, c in enumerate(item["choices"]))
        prompt = f"{item['prompt']}\n{opts}\n{T[lang]['mc']}"
        return {
            "messages": [_user(prompt), _bot(f"{letters[item['answer']]}. {correct}")],
            "form": "mc",
        }
    return {"messages": [_user(item["prompt"]), _bot(correct)], "form": "generative"}


def _code_mix(text: str, lang: str, rng: random.Random) -> str:
    """Swap one local product noun for its English word, as shoppers do (Manglish, Taglish)."""
    if lang == "en":
        return text
    local, en = get_lexicon(lang).nouns, get_lexicon("en").nouns
    for cat in rng.sample(sorted(local), len(local)):
        for noun in local[cat]:
            if noun and noun in text and cat in en:
                return text.replace(noun, en[cat][0], 1)
    return text


class SFTGenerator:
    """Draws samples of every category for one language from ``world`` (seeded, reproducible)."""

    def __init__(self, world: World, lang: str, seed: int, exclude: set[str]):
        self.w, self.lang, self.seed, self.exclude = world, lang, seed, exclude
        self.rng = random.Random(f"sft:{seed}:{lang}")
        self.t = T[lang]

    def ecommerce(self, n: int, stream: str = "sft") -> Iterator[Sample]:
        per_task = max(1, -(-n // len(TASKS)))
        for task in TASKS:
            for item in eval_items(
                self.w, task, self.lang, per_task, self.seed, self.exclude, stream=stream
            ):
                s = ecommerce_from_item(item, self.lang, self.rng)
                if self.rng.random() < 0.15:
                    s["messages"][0]["content"] = _code_mix(
                        s["messages"][0]["content"], self.lang, self.rng
                    )
                yield {**s, "category": "ecommerce", "task": task}

    def _product(self):
        return self.rng.choice(self.w.products)

    def creative(self) -> Sample:
        p = self._product()
        prompt = self.t["describe"].format(title=self.w.title(p, self.lang))
        return {
            "messages": [_user(prompt), _bot(self.w.describe(p, self.lang, self.rng))],
            "category": "creative",
            "task": "product_copy",
        }

    def knowledge(self) -> Sample:
        from compass.data.synth.render import brand_page

        b = self.rng.choice(self.w.brands)
        text = brand_page(self.w, b.name, self.lang, self.rng)
        return {
            "messages": [_user(self.t["brand"].format(brand=b.name)), _bot(text)],
            "category": "knowledge",
            "task": "brand_profile",
        }

    def understanding(self) -> Sample:
        r = self.w.review(self._product(), self.lang, self.rng)
        q = self.t["review_q"].format(review=r.text)
        return {
            "messages": [_user(q), _bot(self.t["stars"].format(n=r.rating))],
            "category": "understanding",
            "task": "review_rating",
        }

    def platform(self) -> Sample:
        shop = self.rng.choice(self.w.shops)
        cur = self.w.currency(self.lang, self.rng)
        fee, threshold = self.w.shop_fees(shop, cur)
        slots = {
            "shop": shop.name,
            "fee": format_money(fee, cur),
            "threshold": format_money(threshold, cur),
        }
        return {
            "messages": [
                _user(self.t["shop_q"].format(**slots)),
                _bot(self.t["shop_a"].format(**slots)),
            ],
            "category": "platform",
            "task": "shipping_policy",
        }

    def coding(self) -> Sample:
        pct = self.rng.choice((5, 10, 15, 20, 25, 30, 40, 50))
        code = "```python\n" + CODE.format(pct=pct, keep=100 - pct) + "\n```"
        return {
            "messages": [_user(self.t["code"].format(pct=pct)), _bot(code)],
            "category": "coding",
            "task": "python_function",
        }

    def safety(self) -> Sample:
        noun = get_lexicon(self.lang).nouns[self._product().category][0]
        return {
            "messages": [
                _user(self.t["unsafe"].format(noun=noun)),
                _bot(self.t["refuse"].format(noun=noun)),
            ],
            "category": "safety",
            "task": "refusal",
        }

    def mathematics(self, deep: bool) -> Sample:
        pr = self.w.problem(self.lang, self.rng, self.rng.choice(PROBLEM_KINDS))
        answer = get_lexicon(self.lang).answer.format(value=pr.answer)
        reasoning = pr.solution if deep else None
        return {
            "messages": [_user(pr.question), _bot(answer, reasoning)],
            "category": "mathematics",
            "task": pr.kind,
            "long_cot": deep,
        }

    def dialogue(self, roleplay: bool) -> Sample:
        d = self.w.dialogue(self.lang, self.rng)
        msgs: list[dict[str, Any]] = []
        if roleplay:
            shop = self.rng.choice(self.w.shops).name
            msgs.append({"role": "system", "content": self.t["roleplay"].format(shop=shop)})
        for role, text in d.turns:
            if role == "customer" and msgs and msgs[-1]["role"] == "user":
                msgs[-1]["content"] += "\n" + text
            elif role == "customer":
                msgs.append(_user(_code_mix(text, self.lang, self.rng)))
            elif msgs and msgs[-1]["role"] == "user":
                msgs.append(_bot(text))
        return {
            "messages": msgs,
            "category": "understanding",
            "task": "roleplay" if roleplay else "dialogue",
        }

    def agent(self) -> Sample:
        """Function calling: a tool call, the tool's result, then the answer from it."""
        lex = get_lexicon(self.lang)
        p = self.rng.choice([q for q in self.w.products if q.colour])
        cur = self.w.currency(self.lang)
        budget = round_budget(p.prices[cur] * 11 // 10, cur)
        noun, colour = lex.nouns[p.category][0], lex.colours[p.colour]
        ask = self.t["search"].format(noun=noun, colour=colour, budget=format_money(budget, cur))
        major = budget // 10 ** CURRENCIES[cur].decimals
        args = {"query": f"{colour} {noun}", "max_price": major}
        call = {
            "type": "function",
            "function": {
                "name": "search_products",
                "arguments": json.dumps(args, ensure_ascii=False),
            },
        }
        title, price = self.w.title(p, self.lang), self.w.format_price(p, self.lang)
        result = json.dumps([{"title": title, "price": price}], ensure_ascii=False)
        msgs = [
            _user(ask),
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": result},
            _bot(self.t["found"].format(title=title, price=price)),
        ]
        return {
            "messages": msgs,
            "tools": [SEARCH_TOOL],
            "category": "agent",
            "task": "function_calling",
        }

    def cart(self, n: int, deep: bool, stream: str, exclude: set[str]) -> Iterator[Sample]:
        for pr in cart_problems(self.lang, n, self.seed, stream, exclude):
            yield {
                "messages": pr.messages(deep),
                "category": "reasoning",
                "task": f"cart_{pr.kind}",
                "long_cot": deep,
            }


def _repeat(fn: Callable[[], Sample], n: int) -> list[Sample]:
    return [fn() for _ in range(n)]


def generate_language(
    world: World, lang: str, cfg, seed: int, exclude: set[str], cart_exclude: set[str]
) -> list[Sample]:
    """Every sample of one language, tagged with its stage; ``cfg`` is an ``SFTTasksConfig``."""
    g = SFTGenerator(world, lang, seed, exclude)
    n1, n2 = cfg.stage1_per_lang, cfg.stage2_per_lang
    n_ecommerce = round(n1 * cfg.stage1_ecommerce_share)
    k = max(1, (n1 - n_ecommerce) // 8)  # each of the eight other kinds below
    stage1 = list(g.ecommerce(n_ecommerce))
    stage1 += _repeat(g.creative, k) + _repeat(g.knowledge, k) + _repeat(g.understanding, k)
    stage1 += _repeat(g.platform, k) + _repeat(g.coding, k) + _repeat(g.safety, k)
    stage1 += _repeat(lambda: g.mathematics(False), k) + _repeat(lambda: g.dialogue(False), k)
    k2 = max(1, n2 // 8)
    stage2 = list(g.ecommerce(2 * k2, stream="sft-aug"))
    stage2 += _repeat(lambda: g.dialogue(True), k2) + _repeat(g.agent, k2)
    # Fast-mode twins of the reasoning problems teach fast mode to answer them directly.
    stage2 += list(g.cart(cfg.cart_fast_per_lang, False, "sft-fast", cart_exclude))
    cot = list(g.cart(cfg.cart_cot_per_lang, True, "sft-cot", cart_exclude))
    cot += _repeat(lambda: g.mathematics(True), cfg.math_cot_per_lang)
    out = []
    for stage, samples in ((1, stage1), (2, stage2), (2, cot)):
        for s in samples:
            s.setdefault("long_cot", False)
            out.append({"id": f"{lang}-{stage}-{len(out):05d}", "lang": lang, "stage": stage, **s})
    return out
