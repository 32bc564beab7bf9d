"""Search queries with relevant and irrelevant products, judged from the catalogue itself.

A product is relevant when it matches every attribute the query names (category always, plus
colour / material / brand / budget when the query mentions them). Irrelevant products are drawn
from other categories or from the same category with a clashing attribute, so matching needs the
attributes and not only the noun.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from compass.data.synth.facts import Facts, Product
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_money, round_budget
from compass.data.synth.render import fill, slots_of, spec_text, title


@dataclass
class Query:
    text: str
    lang: str
    category: str
    constraints: dict[str, str]  # attribute -> required value (keys: colour material brand spec)
    budget: tuple[int, str] | None  # (minor units, currency)
    relevant: list[str] = field(default_factory=list)  # product ids
    irrelevant: list[str] = field(default_factory=list)
    casual: str = ""  # a sloppy way a shopper would type the same need (query rewriting)
    document: str = ""  # the query with its top results, as a pretraining document

    def matches(self, world: Facts, p: Product) -> bool:
        if p.category != self.category:
            return False
        for attr, value in self.constraints.items():
            have = p.spec if attr == "spec" else getattr(p, attr)
            if str(have) != value:
                return False
        return not (self.budget and p.prices[self.budget[1]] > self.budget[0])


def make_query(world: Facts, lang: str, rng: random.Random) -> Query:
    lex = get_lexicon(lang)
    anchor = rng.choice(world.products)
    cur = world.currency(lang)
    budget_minor = round_budget(anchor.prices[cur] * rng.choice((11, 12, 15)) // 10, cur)
    slots = {
        "noun": lex.nouns[anchor.category][rng.randrange(2)],
        "colour": lex.colours.get(anchor.colour, ""),
        "material": lex.materials.get(anchor.material, ""),
        "brand": anchor.brand,
        "spec": spec_text(anchor, lang),
        "budget": format_money(budget_minor, cur),
    }
    templates = [t for t in lex.query if fill(t, slots) is not None]
    template = rng.choice(templates)
    used = slots_of(template)
    constraints = {
        k: str(anchor.spec) if k == "spec" else getattr(anchor, k)
        for k in ("colour", "material", "brand", "spec")
        if k in used
    }
    q = Query(
        text=fill(template, slots) or "",
        lang=lang,
        category=anchor.category,
        constraints=constraints,
        budget=(budget_minor, cur) if "budget" in used else None,
    )
    casual = [t for t in lex.query_casual if fill(t, slots) is not None and slots_of(t) <= used]
    q.casual = fill(rng.choice(casual), slots) if casual else ""
    pool = world.in_category(anchor.category)
    q.relevant = [p.id for p in pool if q.matches(world, p)][:8]
    near = [p.id for p in pool if not q.matches(world, p)]
    far = [
        p.id
        for p in rng.sample(world.products, min(12, len(world.products)))
        if p.category != anchor.category
    ]
    q.irrelevant = (rng.sample(near, min(3, len(near))) + far)[:8]
    shown = [title(world.product(i), lang, rng.randrange(4)) for i in q.relevant[:4]]
    q.document = lex.query_doc.format(
        query=q.text, results="\n".join(f"{k + 1}. {t}" for k, t in enumerate(shown))
    )
    return q
