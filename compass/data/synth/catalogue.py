"""The language-neutral catalogue spec: categories, attribute keys, markets.

Everything here is a *key*; each language's lexicon (``lexicon/<lang>.py``) renders the keys in
its own words. Keeping facts language-neutral is what makes one product say the same thing in
eight languages, so a model can tie them together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySpec:
    key: str
    usd: tuple[float, float]  # price range of the category
    colours: tuple[str, ...]  # empty: the attribute does not apply
    materials: tuple[str, ...]
    sizes: tuple[str, ...]  # clothing letters or shoe sizes
    measure: str  # which numeric spec the category has: "", "l", "l10", "ml", "g", "mah", ...
    measure_values: tuple[int, ...]
    warranty: tuple[int, ...]  # months; 0 means none
    weight_g: tuple[int, int]


_BASIC = ("black", "white", "red", "blue", "green", "pink", "grey", "navy", "beige", "yellow")

# fmt: off
CATEGORIES: dict[str, CategorySpec] = {
    c.key: c
    for c in (
        CategorySpec("tshirt", (5, 25), _BASIC, ("cotton", "polyester", "linen"),
                     ("S", "M", "L", "XL"), "", (), (0,), (150, 250)),
        CategorySpec("dress", (12, 45), _BASIC, ("cotton", "linen", "chiffon"),
                     ("S", "M", "L", "XL"), "", (), (0,), (200, 400)),
        CategorySpec("sneakers", (20, 90), ("black", "white", "grey", "navy", "red", "beige"),
                     ("canvas", "leather", "mesh"),
                     ("38", "39", "40", "41", "42", "43"), "", (), (0, 3), (600, 900)),
        CategorySpec("backpack", (12, 60), ("black", "grey", "navy", "green", "beige", "brown"),
                     ("nylon", "canvas", "leather"),
                     (), "l", (15, 20, 25, 30, 35), (6, 12), (400, 1100)),
        CategorySpec("phone_case", (3, 15), (*_BASIC, "purple"), ("silicone", "leather", "plastic"),
                     (), "", (), (0,), (30, 60)),
        CategorySpec("power_bank", (10, 40), ("black", "white", "blue", "pink"), ("plastic",),
                     (), "mah", (5000, 10000, 20000), (6, 12), (150, 450)),
        CategorySpec("earbuds", (15, 80), ("black", "white", "blue", "pink", "green"), ("plastic",),
                     (), "hours", (6, 8, 20, 24, 30), (6, 12), (40, 80)),
        CategorySpec("rice_cooker", (25, 90), ("white", "black", "red", "grey"), ("stainless",),
                     (), "l10", (10, 12, 15, 18), (12, 24), (2000, 3500)),
        CategorySpec("water_bottle", (5, 25), _BASIC, ("stainless", "plastic", "glass"),
                     (), "ml", (500, 750, 1000), (0, 6), (200, 450)),
        CategorySpec("frying_pan", (10, 45), ("black", "grey", "red"),
                     ("cast_iron", "stainless", "aluminium"),
                     (), "cm", (20, 24, 26, 28), (6, 12), (700, 2200)),
        CategorySpec("sunscreen", (5, 20), (), (),
                     (), "ml", (30, 50, 100), (0,), (40, 130)),
        CategorySpec("shampoo", (4, 15), (), (),
                     (), "ml", (200, 340, 500), (0,), (220, 560)),
        CategorySpec("coffee", (5, 25), (), (),
                     (), "g", (250, 500, 1000), (0,), (260, 1020)),
        CategorySpec("desk_lamp", (10, 40), ("black", "white", "grey", "yellow"),
                     ("plastic", "aluminium"),
                     (), "watt", (5, 8, 12), (6, 12), (500, 1200)),
        CategorySpec("towel", (4, 15), ("white", "grey", "blue", "pink", "beige", "green"),
                     ("cotton", "bamboo"),
                     (), "cm", (70, 90, 140), (0,), (300, 700)),
    )
}
# fmt: on

COLOURS = (*_BASIC, "purple", "brown")
MATERIALS = (
    "cotton",
    "polyester",
    "linen",
    "chiffon",
    "canvas",
    "leather",
    "mesh",
    "nylon",
    "silicone",
    "plastic",
    "stainless",
    "glass",
    "cast_iron",
    "aluminium",
    "bamboo",
)

# Markets: where a shop sits, its language and currency, a few cities (native spelling).
MARKETS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "SG": ("en", "USD", ("Singapore",)),
    "CN": ("zh", "CNY", ("上海", "深圳", "广州", "杭州")),
    "TW": ("zh", "TWD", ("台北", "台中", "高雄")),
    "ID": ("id", "IDR", ("Jakarta", "Surabaya", "Bandung", "Medan", "Semarang")),
    "MY": ("ms", "MYR", ("Kuala Lumpur", "Pulau Pinang", "Johor Bahru", "Ipoh")),
    "TH": ("th", "THB", ("กรุงเทพฯ", "เชียงใหม่", "ขอนแก่น", "ภูเก็ต")),
    "VN": ("vi", "VND", ("Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng")),
    "PH": ("tl", "PHP", ("Maynila", "Lungsod Quezon", "Cebu", "Davao")),
    "BR": ("pt", "BRL", ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Recife")),
}

# How a city is written outside its own language: Latin script, so an English page about a
# Bangkok shop stays English for language ID.
LATIN_CITY = {
    "上海": "Shanghai",
    "深圳": "Shenzhen",
    "广州": "Guangzhou",
    "杭州": "Hangzhou",
    "台北": "Taipei",
    "台中": "Taichung",
    "高雄": "Kaohsiung",
    "กรุงเทพฯ": "Bangkok",
    "เชียงใหม่": "Chiang Mai",
    "ขอนแก่น": "Khon Kaen",
    "ภูเก็ต": "Phuket",
    "Hà Nội": "Hanoi",
    "TP. Hồ Chí Minh": "Ho Chi Minh City",
    "Đà Nẵng": "Da Nang",
    "Hải Phòng": "Hai Phong",
    "Maynila": "Manila",
    "Lungsod Quezon": "Quezon City",
    "Pulau Pinang": "Penang",
}


def city_name(city: str, market: str, lang: str) -> str:
    """A shop's city as a ``lang`` page writes it: native at home, Latin script abroad."""
    return city if MARKETS[market][0] == lang else LATIN_CITY.get(city, city)


# Syllables for invented brand and model names: pronounceable in every language, owned by no one.
BRAND_SYLLABLES = (
    "ka",
    "ri",
    "na",
    "lu",
    "mo",
    "sa",
    "ya",
    "ta",
    "ko",
    "bi",
    "ru",
    "me",
    "la",
    "no",
    "va",
    "ze",
    "ni",
    "pa",
    "ra",
    "ve",
    "do",
    "mi",
    "su",
    "to",
    "ha",
    "re",
    "si",
    "lo",
    "ke",
    "an",
)
MODEL_WORDS = (
    "Nova",
    "Aero",
    "Lite",
    "Pro",
    "Flex",
    "Go",
    "Max",
    "Air",
    "Zen",
    "Move",
    "Daily",
    "Urban",
    "Breeze",
    "Swift",
    "Prime",
    "Joy",
    "Mini",
    "Wave",
    "Echo",
    "Bloom",
)
