"""Customer reviews with a star rating and a sentiment label derived from it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from compass.data.synth.facts import Facts, Product
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.render import fill, join_sentences, noun, title

SENTIMENTS = ("positive", "negative", "neutral")
_RATINGS = {"positive": (4, 5), "neutral": (3, 3), "negative": (1, 2)}


@dataclass
class Review:
    text: str  # the review body only
    header: str  # "<name> rated <title> <stars> stars:"
    rating: int  # 1..5
    sentiment: str  # positive / negative / neutral
    product_id: str
    lang: str

    @property
    def document(self) -> str:
        return f"{self.header}\n{self.text}"


def make_review(
    world: Facts, p: Product, lang: str, rng: random.Random, sentiment: str | None = None
) -> Review:
    lex = get_lexicon(lang)
    if sentiment is None:
        # Marketplaces skew positive; the skew also mirrors the product's own rating.
        good = 0.45 + 0.1 * (p.rating_x10 - 40) / 5
        sentiment = rng.choices(SENTIMENTS, weights=(good, 0.25, 0.2))[0]
    rating = rng.randint(*_RATINGS[sentiment])
    pool = {"positive": lex.review_pos, "negative": lex.review_neg, "neutral": lex.review_neu}[
        sentiment
    ]
    slots = {
        "noun": noun(p, lang, rng.randrange(3)),
        "colour": lex.colours.get(p.colour, ""),
        "material": lex.materials.get(p.material, ""),
        "days": str(rng.randint(2, 9)),
        "shop": world.shop(p.shop_id).name,
    }
    picked = [s for t in rng.sample(pool, len(pool)) if (s := fill(t, slots)) is not None]
    body = join_sentences(picked[: rng.randint(1, 3)], lang)
    header = lex.review_head.format(
        name=world.user_name(lang, rng), title=title(p, lang, rng.randrange(4)), stars=rating
    )
    return Review(body, header, rating, sentiment, p.id, lang)
