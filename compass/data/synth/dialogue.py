"""Customer-service dialogues: a customer with one intent, an agent answering from the world."""

from __future__ import annotations

import random
from dataclasses import dataclass

from compass.data.synth.facts import Facts
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_money
from compass.data.synth.render import attr_label, attr_value, fill_any, sentence_case, title

INTENTS = ("order_status", "return", "shipping_fee", "product_question", "cancel", "payment")


@dataclass
class Dialogue:
    turns: list[tuple[str, str]]  # (role, text); role is "customer" or "agent"
    intent: str
    product_id: str
    lang: str

    @property
    def first_message(self) -> str:
        return next(t for r, t in self.turns if r == "customer")

    def render(self) -> str:
        lex = get_lexicon(self.lang)
        names = {"customer": lex.speaker[0], "agent": lex.speaker[1]}
        colon = "：" if self.lang == "zh" else ": "
        return "\n".join(f"{names[r]}{colon}{t}" for r, t in self.turns)


def make_dialogue(
    world: Facts, lang: str, rng: random.Random, intent: str | None = None
) -> Dialogue:
    lex = get_lexicon(lang)
    intent = intent or rng.choice(INTENTS)
    p = rng.choice(world.products)
    shop = world.shop(p.shop_id)
    cur = world.currency(lang)
    fee, threshold = world.shop_fees(shop, cur)
    attr = rng.choice(
        [a for a in ("colour", "material", "spec") if attr_value(p, lang, a)] or ["brand"]
    )
    label_key = "spec" if attr == "spec" else attr
    slots = {
        "name": world.user_name(lang, rng),
        "order": f"#{shop.market}{rng.randint(10_000_000, 99_999_999)}",
        "days": str(rng.randint(2, 7)),
        "product": title(p, lang, rng.randrange(4)),
        "fee": format_money(fee, cur),
        "threshold": format_money(threshold, cur),
        "attr": attr_label(lang, label_key),
        "value": attr_value(p, lang, attr),
        "shop": shop.name,
    }
    turns = [
        ("agent", sentence_case(fill_any(lex.greet, slots, rng))),
        ("customer", sentence_case(fill_any(lex.customer[intent], slots, rng))),
        ("agent", sentence_case(fill_any(lex.agent[intent], slots, rng))),
    ]
    if rng.random() < 0.7:
        turns += [("customer", lex.close[0 if rng.random() < 0.5 else 1]), ("agent", lex.close[2])]
    return Dialogue(turns, intent, p.id, lang)
