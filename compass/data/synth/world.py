"""The seeded world every synthetic dataset is drawn from: brands, shops, users, products.

One ``World`` feeds pretraining documents (this package), SFT instructions, preference pairs
and evaluation items, so a fact learned in pretraining ("the Lumora
Nova 3 rice cooker costs RM 219.90") is the fact those stages ask about. Facts are language
neutral keys (``colour="navy"``); ``lexicon/<lang>.py`` renders them in each of the 8 languages.

API (deterministic given the seed and the ``random.Random`` you pass)::

    from compass.data.synth.world import World
    w = World.build(seed=1234, n_products=500)      # or World.load("DIR/world.json")
    p = w.products[0]       # Product: id brand model category colour material sizes spec
                            #   prices{currency: minor units} rating_x10 sold stock
                            #   warranty_months weight_g shop_id group (colour variants share it)
    w.product(pid); w.shop(sid); w.brand(name); w.in_category("rice_cooker")
    w.title(p, "vi", variant=0)        # listing title (4 variants per language)
    w.price(p, "id")                   # (150000, "IDR"): minor units (IDR has none) + code
    w.format_price(p, "pt")            # "R$ 89,90"; money.format_money / parse_money
    w.describe(p, "th", rng)           # product page text
    w.review(p, "ms", rng, sentiment=None)   # Review(text, header, rating 1-5, sentiment, ...)
    w.query(lang, rng)                 # Query(text, category, constraints, budget,
                                       #   relevant[ids], irrelevant[ids], casual, document)
    w.dialogue(lang, rng, intent=None) # Dialogue(turns[(role, text)], intent, product_id)
    w.problem(lang, rng, kind=None)    # Problem(question, steps, answer, answer_minor,
                                       #   currency, inputs, kind, product_id); .render()
    w.user_name(lang, rng)             # a shopper name that fits the language
    w.save(path); World.load(path)     # world.json round trip (versioned)

Also: ``render.guide_page`` / ``render.brand_page`` (comparisons, brand facts),
``evalgen.eval_items(world, task, lang, n, seed)`` (held-out items, 12 task categories),
``problems.KINDS``, ``dialogue.INTENTS``, ``reviews.SENTIMENTS``, ``evalgen.TASKS``.
"""

from __future__ import annotations

import random

from compass.data.synth.dialogue import Dialogue, make_dialogue
from compass.data.synth.facts import WORLD_VERSION, Brand, Facts, Product, Shop, User
from compass.data.synth.problems import Problem, make_problem
from compass.data.synth.render import product_page, title
from compass.data.synth.reviews import Review, make_review
from compass.data.synth.search import Query, make_query

__all__ = ["WORLD_VERSION", "Brand", "Product", "Shop", "User", "World"]


class World(Facts):
    """The facts (:class:`~compass.data.synth.facts.Facts`) and the text written about them."""

    def title(self, p: Product, lang: str, variant: int = 0) -> str:
        return title(p, lang, variant)

    def describe(self, p: Product, lang: str, rng: random.Random) -> str:
        return product_page(self, p, lang, rng)

    def review(
        self, p: Product, lang: str, rng: random.Random, sentiment: str | None = None
    ) -> Review:
        return make_review(self, p, lang, rng, sentiment)

    def query(self, lang: str, rng: random.Random) -> Query:
        return make_query(self, lang, rng)

    def dialogue(self, lang: str, rng: random.Random, intent: str | None = None) -> Dialogue:
        return make_dialogue(self, lang, rng, intent)

    def problem(self, lang: str, rng: random.Random, kind: str | None = None) -> Problem:
        return make_problem(self, lang, rng, kind)
