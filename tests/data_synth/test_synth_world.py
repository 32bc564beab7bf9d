"""The world and the lexicons: complete per language, templates fill, queries judged correctly."""

from __future__ import annotations

import random
import string

import pytest

from compass.config import ConfigError
from compass.data.synth.catalogue import CATEGORIES, COLOURS, MATERIALS
from compass.data.synth.config import LANGS, DataGenConfig
from compass.data.synth.dialogue import INTENTS
from compass.data.synth.evalgen import TASKS
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.problems import KINDS
from compass.data.synth.render import brand_page, guide_page
from compass.data.synth.world import World

PRODUCT = {
    "brand",
    "model",
    "noun",
    "colour",
    "material",
    "spec",
    "size",
    "price",
    "shop",
    "city",
    "rating",
    "sold",
    "stock",
    "warranty",
}
CS = {"name", "order", "days", "product", "fee", "threshold", "attr", "value", "shop"}
PROBLEM = {"product", "noun", "price", "qty", "name"}
ALLOWED = {
    "title": {"brand", "model", "noun", "colour", "material", "spec"},
    "desc": PRODUCT,
    "brand_profile": {"brand", "country", "year", "nouns", "noun"},
    "review_pos": {"noun", "colour", "material", "days", "shop"},
    "review_neg": {"noun", "colour", "material", "days", "shop"},
    "review_neu": {"noun", "colour", "material", "days", "shop"},
    "query": {"noun", "colour", "material", "brand", "spec", "budget"},
    "query_casual": {"noun", "colour", "material", "brand", "spec", "budget"},
    "greet": CS,
    "prose": {"city", "food", "activity", "day", "weather", "name", "n", "hour"},
}
PROBLEM_SLOTS = {
    "discount": PROBLEM | {"pct"},
    "bundle": PROBLEM | {"k"},
    "voucher": PROBLEM | {"voucher", "minspend"},
    "shipping": PROBLEM | {"fee", "threshold"},
    "unit_price": {"noun", "qa", "pa", "qb", "pb", "base", "name"},
    "instalment": PROBLEM | {"months"},
}


def _slots(template: str) -> set[str]:
    return {
        f
        for _, f, _, _ in string.Formatter().parse(template.replace("[", "").replace("]", ""))
        if f
    }


@pytest.mark.parametrize("lang", LANGS)
def test_lexicon_complete_and_templates_use_known_slots(lang: str) -> None:
    lex = get_lexicon(lang)
    assert set(lex.nouns) == set(CATEGORIES)
    assert set(lex.colours) == set(COLOURS) and set(lex.materials) == set(MATERIALS)
    assert set(lex.intents) == set(lex.customer) == set(lex.agent) == set(INTENTS)
    assert set(lex.problems) == set(KINDS)
    assert set(lex.steps) == set(get_lexicon("en").steps)
    assert set(lex.eval_prompts) == (set(TASKS) - {"numerical_reasoning"}) | {"brand_year"}
    for field, allowed in ALLOWED.items():
        for t in getattr(lex, field):
            assert _slots(t) <= allowed, (lang, field, t)
    for intent in INTENTS:
        for t in lex.customer[intent] + lex.agent[intent]:
            assert _slots(t) <= CS, (lang, intent, t)
    for kind, allowed in PROBLEM_SLOTS.items():
        for t in lex.problems[kind]:
            assert _slots(t) <= allowed, (lang, kind, t)
    # Words must differ between categories, or classification items would have two answers.
    assert len({v[0] for v in lex.nouns.values()}) == len(CATEGORIES)
    assert len(set(lex.colours.values())) == len(COLOURS)


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(seed=3, n_products=200, n_shops=20, n_users=80)


def test_world_is_deterministic_and_round_trips(world: World, tmp_path) -> None:
    assert World.build(seed=3, n_products=200, n_shops=20, n_users=80).to_dict() == world.to_dict()
    assert World.build(seed=4, n_products=200, n_shops=20, n_users=80).to_dict() != world.to_dict()
    world.save(tmp_path / "world.json")
    assert World.load(tmp_path / "world.json").to_dict() == world.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 0}')
    with pytest.raises(ValueError, match="regenerate"):
        World.load(bad)


def test_world_facts_are_consistent(world: World) -> None:
    for p in world.products:
        spec = CATEGORIES[p.category]
        assert (p.colour in spec.colours) or (not spec.colours and p.colour == "")
        assert (p.material in spec.materials) or (not spec.materials and p.material == "")
        assert all(v > 0 for v in p.prices.values())
        world.shop(p.shop_id)
        assert p.brand in {b.name for b in world.brands}
    ids = [p.id for p in world.products]
    assert len(ids) == len(set(ids)) == 200


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_kind_renders_cleanly(world: World, lang: str) -> None:
    rng = random.Random(lang)
    texts = [world.title(p, lang, v) for p in world.products[:60] for v in range(4)]
    texts += [world.describe(p, lang, rng) for p in world.products[:30]]
    texts += [world.review(p, lang, rng).document for p in world.products[:30]]
    texts += [world.query(lang, rng).document for _ in range(30)]
    texts += [world.dialogue(lang, rng, intent).render() for intent in INTENTS for _ in range(3)]
    texts += [brand_page(world, b.name, lang, rng) for b in world.brands[:5]]
    texts += [guide_page(world, lang, rng)[0] for _ in range(10)]
    for t in texts:
        assert t.strip() and "{" not in t and "[" not in t and "  " not in t, t
        assert " ," not in t and "()" not in t and "（）" not in t, t
    for p in world.products[:60]:
        assert p.brand in world.title(p, lang) and p.model in world.title(p, lang)


def test_query_relevance_checked_independently(world: World) -> None:
    rng = random.Random(0)
    for lang in LANGS:
        for _ in range(40):
            q = world.query(lang, rng)
            assert q.relevant, q.text
            for pid in q.relevant:
                p = world.product(pid)
                assert p.category == q.category
                for attr, value in q.constraints.items():
                    assert str(p.spec if attr == "spec" else getattr(p, attr)) == value
                if q.budget:
                    assert p.prices[q.budget[1]] <= q.budget[0]
            assert not set(q.relevant) & set(q.irrelevant)
            for pid in q.irrelevant:
                assert not q.matches(world, world.product(pid))


def test_guides_name_the_true_cheapest(world: World) -> None:
    rng = random.Random(2)
    for _ in range(40):
        text, pids = guide_page(world, "en", rng)
        products = [world.product(i) for i in pids]
        assert len({p.category for p in products}) == 1
        cheapest = min(products, key=lambda p: p.prices["USD"])
        line = next((x for x in text.splitlines() if x.startswith("The cheapest")), None)
        if line is not None:
            assert line.endswith(f"at {world.format_price(cheapest, 'en')}.")
            assert sum(p.prices["USD"] == cheapest.prices["USD"] for p in products) == 1


def test_reviews_ratings_match_sentiment(world: World) -> None:
    rng = random.Random(1)
    for lang in LANGS:
        for p in world.products[:40]:
            r = world.review(p, lang, rng)
            assert {"positive": {4, 5}, "neutral": {3}, "negative": {1, 2}}[r.sentiment] >= {
                r.rating
            }


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"datagen\.languages"):
        DataGenConfig(languages=["en", "fr"]).validate()
    with pytest.raises(ConfigError, match=r"datagen\.mix"):
        DataGenConfig(mix={"poetry": 1.0}).validate()
    with pytest.raises(ConfigError, match="noise_fraction"):
        DataGenConfig(noise_fraction=2.0).validate()
