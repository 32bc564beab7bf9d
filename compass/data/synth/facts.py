"""The seeded world's facts: brands, shops, users and products with their prices, the lookups
over them and the ``world.json`` round trip. No text: the modules that write text about the
world (``render``, ``reviews``, ``search``, ``dialogue``, ``problems``) take a :class:`Facts`,
and :class:`compass.data.synth.world.World` puts them together behind one API.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from compass.data.synth.catalogue import (
    BRAND_SYLLABLES,
    CATEGORIES,
    MARKETS,
    MODEL_WORDS,
)
from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import CURRENCIES, LANG_CURRENCY, format_money, round_price
from compass.utils.io import atomic_write_text

WORLD_VERSION = 1


@dataclass
class Brand:
    name: str
    market: str  # home market code (catalogue.MARKETS)
    year: int
    categories: list[str]


@dataclass
class Shop:
    id: str
    name: str
    market: str
    city: str
    rating_x10: int
    ship_fee_usd: float
    free_ship_usd: float


@dataclass
class User:
    id: str
    name: str
    lang: str
    city: str


@dataclass
class Product:
    id: str
    brand: str
    model: str
    category: str
    colour: str  # "" when the category has no colour
    material: str
    sizes: list[str]
    spec: int  # value of the category's measure (mAh, ml, ...); 0 when none
    prices: dict[str, int]  # currency code -> minor units
    rating_x10: int
    sold: int
    stock: int
    warranty_months: int
    weight_g: int
    shop_id: str
    group: str  # products sharing a group are colour variants of one model

    @property
    def measure(self) -> str:
        return CATEGORIES[self.category].measure


@dataclass
class Facts:
    seed: int
    brands: list[Brand]
    shops: list[Shop]
    users: list[User]
    products: list[Product]
    version: int = WORLD_VERSION
    _index: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls, seed: int, n_products: int = 1200, n_shops: int = 80, n_users: int = 400
    ) -> Self:
        rng = random.Random(f"compass-world:{seed}")
        brands = _make_brands(rng, max(12, n_products // 25))
        shops = [_make_shop(rng, i) for i in range(n_shops)]
        users = [_make_user(rng, i) for i in range(n_users)]
        products: list[Product] = []
        used: set[tuple[str, str]] = set()
        while len(products) < n_products:
            products += _make_model(rng, brands, shops, len(products), used)
        return cls(seed, brands, shops, users, products[:n_products])

    # ------------------------------------------------------------------ lookups
    def _idx(self) -> dict[str, Any]:
        if not self._index:
            self._index["product"] = {p.id: p for p in self.products}
            self._index["shop"] = {s.id: s for s in self.shops}
            self._index["brand"] = {b.name: b for b in self.brands}
            by_cat: dict[str, list[Product]] = {}
            for p in self.products:
                by_cat.setdefault(p.category, []).append(p)
            self._index["category"] = by_cat
        return self._index

    def product(self, pid: str) -> Product:
        return self._idx()["product"][pid]

    def shop(self, sid: str) -> Shop:
        return self._idx()["shop"][sid]

    def brand(self, name: str) -> Brand:
        return self._idx()["brand"][name]

    def in_category(self, category: str) -> list[Product]:
        return self._idx()["category"].get(category, [])

    def user_name(self, lang: str, rng: random.Random) -> str:
        """A shopper's name that fits ``lang`` text (a Thai review signed by a Thai name)."""
        if "users_by_lang" not in self._idx():
            by_lang: dict[str, list[User]] = {}
            for u in self.users:
                by_lang.setdefault(u.lang, []).append(u)
            self._index["users_by_lang"] = by_lang
        users = self._index["users_by_lang"].get(lang)
        if users:
            return rng.choice(users).name
        return rng.choice(get_lexicon(lang).names)

    # ------------------------------------------------------------------ money
    @staticmethod
    def currency(lang: str, rng: random.Random | None = None) -> str:
        """The currency a ``lang`` shopper sees; Chinese pages quote TWD a third of the time."""
        if lang == "zh" and rng is not None and rng.random() < 1 / 3:
            return "TWD"
        return LANG_CURRENCY[lang]

    def price(self, p: Product, lang: str, currency: str | None = None) -> tuple[int, str]:
        cur = currency or LANG_CURRENCY[lang]
        return p.prices[cur], cur

    def format_price(self, p: Product, lang: str, currency: str | None = None) -> str:
        return format_money(*self.price(p, lang, currency))

    def shop_fees(self, shop: Shop, currency: str) -> tuple[int, int]:
        """(shipping fee, free-shipping threshold) in ``currency`` minor units."""
        fee = round_price(shop.ship_fee_usd, currency, charm=False)
        return fee, round_price(shop.free_ship_usd, currency, charm=False)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seed": self.seed,
            "brands": [dataclasses.asdict(b) for b in self.brands],
            "shops": [dataclasses.asdict(s) for s in self.shops],
            "users": [dataclasses.asdict(u) for u in self.users],
            "products": [dataclasses.asdict(p) for p in self.products],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        if d.get("version") != WORLD_VERSION:
            raise ValueError(
                f"world.json version {d.get('version')} != {WORLD_VERSION}: regenerate it with "
                "`compass data generate`"
            )
        return cls(
            seed=d["seed"],
            brands=[Brand(**b) for b in d["brands"]],
            shops=[Shop(**s) for s in d["shops"]],
            users=[User(**u) for u in d["users"]],
            products=[Product(**p) for p in d["products"]],
        )

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a readable world.json ({e})") from None


# ---------------------------------------------------------------------- builders
def _name(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(BRAND_SYLLABLES) for _ in range(n)).capitalize()


def _make_brands(rng: random.Random, n: int) -> list[Brand]:
    names: set[str] = set()
    brands = []
    cats = sorted(CATEGORIES)
    while len(brands) < n:
        name = _name(rng, rng.choice((2, 2, 3)))
        if name in names or len(name) < 4:
            continue
        names.add(name)
        k = rng.randint(2, 4)
        brands.append(
            Brand(
                name,
                rng.choice(sorted(MARKETS)),
                rng.randint(1978, 2021),
                sorted(rng.sample(cats, k)),
            )
        )
    return brands


def _make_shop(rng: random.Random, i: int) -> Shop:
    market = rng.choice(sorted(MARKETS))
    suffix = rng.choice(("Official Store", "Mart", "Shop", "Store", "Outlet", "Corner", "Hub"))
    fee = rng.choice((1.0, 1.5, 2.0, 2.5, 3.0))
    return Shop(
        f"S{i:03d}",
        f"{_name(rng, 2)} {suffix}",
        market,
        rng.choice(MARKETS[market][2]),
        rng.randint(41, 50),
        fee,
        rng.choice((15.0, 20.0, 25.0, 30.0, 40.0)),
    )


def _make_user(rng: random.Random, i: int) -> User:
    from compass.data.synth.lexicon import get_lexicon

    market = rng.choice(sorted(MARKETS))
    lang = MARKETS[market][0]
    return User(
        f"U{i:04d}", rng.choice(get_lexicon(lang).names), lang, rng.choice(MARKETS[market][2])
    )


def _make_model(
    rng: random.Random,
    brands: list[Brand],
    shops: list[Shop],
    start: int,
    used: set[tuple[str, str]],
) -> list[Product]:
    """One product model in 1-3 colour variants (variants are the 'similar products')."""
    brand = rng.choice(brands)
    cat = rng.choice(brand.categories)
    spec = CATEGORIES[cat]
    model = f"{rng.choice(MODEL_WORDS)} {rng.randint(1, 9)}"
    if (brand.name, model) in used:
        model = f"{model}{rng.choice('SXL')}"
    used.add((brand.name, model))
    material = rng.choice(spec.materials) if spec.materials else ""
    measure = rng.choice(spec.measure_values) if spec.measure_values else 0
    usd = rng.uniform(*spec.usd)
    colours = rng.sample(spec.colours, min(len(spec.colours), rng.randint(1, 3))) or [""]
    shop = rng.choice(shops)
    warranty = rng.choice(spec.warranty)
    out = []
    for j, colour in enumerate(colours):
        charm = rng.random() < 0.6
        prices = {c: round_price(usd * rng.uniform(0.97, 1.03), c, charm) for c in CURRENCIES}
        out.append(
            Product(
                id=f"P{start + j:05d}",
                brand=brand.name,
                model=model,
                category=cat,
                colour=colour,
                material=material,
                sizes=list(spec.sizes),
                spec=measure,
                prices=prices,
                rating_x10=rng.choice((32, 35, 38, 40, 42, 44, 45, 46, 47, 48, 49, 50)),
                sold=rng.choice((12, 35, 80, 150, 320, 760, 1200, 2500, 5400)) + rng.randint(0, 9),
                stock=rng.randint(3, 250),
                warranty_months=warranty,
                weight_g=rng.randint(*spec.weight_g),
                shop_id=shop.id,
                group=f"G{start:05d}",
            )
        )
    return out
