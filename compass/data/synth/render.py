"""Template filling and product text: titles, product pages, brand profiles, specs.

A template whose slots are not all available is skipped rather than rendered with a hole, so a
shampoo (no colour, no material) never reads "a  shampoo made of ."
"""

from __future__ import annotations

import random
import re
import string
from functools import cache

from compass.data.synth.catalogue import city_name
from compass.data.synth.facts import Facts, Product
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_decimal, format_money, format_number, format_rating
from compass.languages import NO_SPACE_LANGS

_SPACES = re.compile(r"[ \t]{2,}")


_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@cache
def slots_of(template: str) -> frozenset[str]:
    """The slots a template needs; slots inside ``[...]`` groups are optional, not needed."""
    return _fields(_OPTIONAL.sub("", template))


@cache
def _fields(template: str) -> frozenset[str]:
    return frozenset(f for _, f, _, _ in string.Formatter().parse(template) if f)


def fill(template: str, slots: dict[str, object]) -> str | None:
    """``template`` with ``slots`` filled, or None when a slot it needs is missing or empty.

    A ``[...]`` group is kept only when every slot inside it has a value, so one title template
    serves a T-shirt (colour, material) and a shampoo (volume only)."""

    def group(m: re.Match) -> str:
        inner = m.group(1)
        return inner if all(slots.get(k) not in (None, "") for k in _fields(inner)) else ""

    if any(slots.get(k) in (None, "") for k in slots_of(template)):
        return None
    text = _OPTIONAL.sub(group, template)
    return text.format(**{k: slots[k] for k in _fields(text)})


def fill_any(templates: tuple[str, ...], slots: dict[str, object], rng: random.Random) -> str:
    """A random template that can be filled; falls back to the first fillable one in order."""
    order = list(templates)
    rng.shuffle(order)
    for t in order:
        text = fill(t, slots)
        if text is not None:
            return text
    raise KeyError(f"no template fills with slots {sorted(k for k, v in slots.items() if v)}")


def sentence_case(text: str) -> str:
    """Capitalise a sentence that starts with a lowercase title ("brown canvas backpack ...")."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def join_sentences(parts: list[str], lang: str) -> str:
    sep = "" if lang in NO_SPACE_LANGS else " "
    return _SPACES.sub(" ", sep.join(sentence_case(p) for p in parts)).strip()


def noun(p: Product, lang: str, k: int = 0) -> str:
    nouns = get_lexicon(lang).nouns[p.category]
    return nouns[k % len(nouns)]


def spec_text(p: Product, lang: str) -> str:
    if not p.spec:
        return ""
    tmpl = get_lexicon(lang).measure[p.measure]
    n = format_decimal(p.spec, lang) if p.measure == "l10" else format_number(p.spec, lang)
    return tmpl.format(n=n)


def attr_value(p: Product, lang: str, attr: str) -> str:
    """The rendered value of one attribute: colour, material, spec, size, brand, category."""
    lex = get_lexicon(lang)
    if attr == "colour":
        return lex.colours.get(p.colour, "")
    if attr == "material":
        return lex.materials.get(p.material, "")
    if attr == "spec":
        return spec_text(p, lang)
    if attr == "size":
        return "/".join(p.sizes)
    if attr == "brand":
        return p.brand
    if attr == "category":
        return lex.nouns[p.category][0]
    raise KeyError(f"unknown attribute '{attr}'")


def attr_label(lang: str, key: str) -> str:
    """An attribute's name inside a sentence: "colour", "warna", "a cor" (pt needs the article)."""
    lex = get_lexicon(lang)
    if f"label_{key}" in lex.extra:
        return lex.extra[f"label_{key}"]
    return lex.labels[key] if lang in NO_SPACE_LANGS else lex.labels[key].lower()


def product_slots(world: Facts, p: Product, lang: str, currency: str | None = None) -> dict:
    lex = get_lexicon(lang)
    shop = world.shop(p.shop_id)
    return {
        "brand": p.brand,
        "model": p.model,
        "noun": lex.nouns[p.category][0],
        "colour": lex.colours.get(p.colour, ""),
        "material": lex.materials.get(p.material, ""),
        "spec": spec_text(p, lang),
        "size": "/".join(p.sizes),
        "price": world.format_price(p, lang, currency),
        "shop": shop.name,
        "city": city_name(shop.city, shop.market, lang),
        "rating": format_rating(p.rating_x10, lang),
        "sold": format_number(p.sold, lang),
        "stock": format_number(p.stock, lang),
        "warranty": lex.warranty.format(n=p.warranty_months) if p.warranty_months else "",
    }


def title(p: Product, lang: str, variant: int = 0) -> str:
    """The product's listing title; ``variant`` picks among the language's title templates."""
    lex = get_lexicon(lang)
    slots = {
        "brand": p.brand,
        "model": p.model,
        "noun": lex.nouns[p.category][0],
        "colour": lex.colours.get(p.colour, ""),
        "material": lex.materials.get(p.material, ""),
        "spec": spec_text(p, lang),
    }
    text = fill(lex.title[variant % len(lex.title)], slots)
    if text is None:
        raise KeyError(f"{lang} title template {variant} needs more than brand, model and noun")
    return _SPACES.sub(" ", text).strip()


def product_page(world: Facts, p: Product, lang: str, rng: random.Random) -> str:
    """A listing: title, 3-6 description sentences, and a spec sheet."""
    lex = get_lexicon(lang)
    cur = world.currency(lang, rng)
    slots = product_slots(world, p, lang, cur)
    slots["noun"] = noun(p, lang, rng.randrange(3))
    # At most one sentence per set of facts: two rating sentences in one listing read as a bug.
    sentences, used = [], set()
    want = rng.randint(3, 6)
    for t in rng.sample(lex.desc, len(lex.desc)):
        s = fill(t, slots)
        key = slots_of(t) - {"noun", "brand", "model"}
        if s is None or (key and key in used):
            continue
        sentences.append(s)
        used.add(key)
        if len(sentences) >= want:
            break
    lines = [title(p, lang, rng.randrange(4)), join_sentences(sentences, lang)]
    sheet = [("brand", p.brand), ("category", lex.nouns[p.category][0])]
    sheet += [(a, slots[a]) for a in ("colour", "material", "spec", "size", "price", "warranty")]
    colon = "：" if lang == "zh" else ": "
    lines += [f"{lex.labels[k]}{colon}{v}" for k, v in sheet if v and rng.random() < 0.8]
    return "\n".join(lines)


def brand_page(world: Facts, brand_name: str, lang: str, rng: random.Random) -> str:
    """A brand profile: 3-5 facts in random order, then one of its products with its price."""
    lex = get_lexicon(lang)
    b = world.brand(brand_name)
    cats = [lex.nouns[c][0] for c in b.categories]
    sep = "、" if lang == "zh" else ", "
    slots = {
        "brand": b.name,
        "country": lex.countries[b.market],
        "year": str(b.year),
        "nouns": sep.join(cats),
        "noun": rng.choice(cats),
    }
    parts = [s for t in lex.brand_profile if (s := fill(t, slots)) is not None]
    parts = [parts[0], *rng.sample(parts[1:], rng.randint(2, len(parts) - 1))]
    own = [p for p in world.products if p.brand == b.name]
    if own:
        parts.append(_guide_item(world, rng.choice(own), lang, world.currency(lang, rng), rng))
    return join_sentences(parts, lang)


def _guide_item(world: Facts, p: Product, lang: str, cur: str, rng: random.Random) -> str:
    name = title(p, lang, rng.randrange(4))
    slots = {
        "title": name,
        "price": format_money(p.prices[cur], cur),
        "spec": "" if spec_text(p, lang) in name else spec_text(p, lang),
        "rating": format_rating(p.rating_x10, lang),
    }
    return fill(get_lexicon(lang).guide["item"], slots) or ""


def guide_page(world: Facts, lang: str, rng: random.Random) -> tuple[str, list[str]]:
    """A buying guide comparing 3-5 products of one category: the cheapest and the best rated
    are named only when unique, so the comparison is always right. Returns (text, product ids)."""
    lex = get_lexicon(lang)
    pool: list[Product] = []
    while len(pool) < 3:
        pool = world.in_category(rng.choice(sorted({p.category for p in world.products})))
    picked = rng.sample(pool, min(len(pool), rng.randint(3, 5)))
    cur = world.currency(lang, rng)
    titles = {p.id: title(p, lang, rng.randrange(4)) for p in picked}
    lines = [lex.guide["intro"].format(noun=lex.nouns[picked[0].category][0], n=len(picked))]
    for p in picked:
        slots = {
            "title": titles[p.id],
            "price": format_money(p.prices[cur], cur),
            "spec": spec_text(p, lang),
            "rating": format_rating(p.rating_x10, lang),
        }
        lines.append(fill(lex.guide["item"], slots) or "")
    cheap = min(picked, key=lambda p: p.prices[cur])
    if sum(p.prices[cur] == cheap.prices[cur] for p in picked) == 1:
        lines.append(
            lex.guide["cheapest"].format(
                title=titles[cheap.id], price=format_money(cheap.prices[cur], cur)
            )
        )
    best = max(picked, key=lambda p: p.rating_x10)
    if sum(p.rating_x10 == best.rating_x10 for p in picked) == 1:
        lines.append(
            lex.guide["best"].format(
                title=titles[best.id], rating=format_rating(best.rating_x10, lang)
            )
        )
    if rng.random() < 0.5:
        lines.append(lex.guide["end"])
    return "\n".join(sentence_case(line.strip()) for line in lines), [p.id for p in picked]
