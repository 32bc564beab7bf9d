"""Local number and currency formats, and their inverse (parsing) for checkers.

Amounts are integers in the currency's minor unit (sen, centavo, cent; IDR/VND/THB have none in
practice), so every price and every problem answer is exact: no float ever touches money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Currency:
    code: str
    decimals: int  # minor units per major unit = 10**decimals
    thousands: str
    decimal: str
    prefix: str
    suffix: str
    usd_rate: float  # major units per US dollar, for pricing the world's catalogue
    step: int  # prices are rounded to this many minor units (Rp 500, RM 0.10, ...)


CURRENCIES: dict[str, Currency] = {
    "USD": Currency("USD", 2, ",", ".", "$", "", 1.0, 50),
    "CNY": Currency("CNY", 2, ",", ".", "¥", "", 7.2, 100),
    "TWD": Currency("TWD", 0, ",", ".", "NT$", "", 32.0, 10),
    "IDR": Currency("IDR", 0, ".", ",", "Rp ", "", 16000.0, 500),
    "MYR": Currency("MYR", 2, ",", ".", "RM ", "", 4.7, 10),
    "THB": Currency("THB", 0, ",", ".", "฿", "", 36.0, 10),
    "VND": Currency("VND", 0, ".", ",", "", " ₫", 25000.0, 1000),
    "PHP": Currency("PHP", 2, ",", ".", "₱", "", 57.0, 100),
    "BRL": Currency("BRL", 2, ".", ",", "R$ ", "", 5.0, 10),
}

# The currency each language's shoppers see; zh also quotes TWD (Taiwan shops), see World.
LANG_CURRENCY = {
    "en": "USD",
    "zh": "CNY",
    "id": "IDR",
    "ms": "MYR",
    "th": "THB",
    "vi": "VND",
    "tl": "PHP",
    "pt": "BRL",
}

# Plain numbers (mAh, grams, counts) follow the same grouping as the language's money.
LANG_SEPARATORS = {
    "en": (",", "."),
    "zh": (",", "."),
    "id": (".", ","),
    "ms": (",", "."),
    "th": (",", "."),
    "vi": (".", ","),
    "tl": (",", "."),
    "pt": (".", ","),
}


def _group(n: int, sep: str) -> str:
    s = str(abs(n))
    parts = []
    while len(s) > 3:
        parts.append(s[-3:])
        s = s[:-3]
    parts.append(s)
    return ("-" if n < 0 else "") + sep.join(reversed(parts))


def format_money(minor: int, currency: str) -> str:
    """``format_money(150000, "IDR")`` -> ``"Rp 150.000"``, ``(4590, "MYR")`` -> ``"RM 45.90"``,
    ``(8990, "BRL")`` -> ``"R$ 89,90"``, ``(250000, "VND")`` -> ``"250.000 ₫"``."""
    c = CURRENCIES[currency]
    if c.decimals == 0:
        body = _group(minor, c.thousands)
    else:
        unit = 10**c.decimals
        major, frac = divmod(abs(minor), unit)
        body = _group(major, c.thousands) + c.decimal + str(frac).zfill(c.decimals)
        body = ("-" if minor < 0 else "") + body
    return f"{c.prefix}{body}{c.suffix}"


def format_number(n: int, lang: str) -> str:
    """An integer with the language's thousands separator: 20000 -> 20,000 (en) / 20.000 (id)."""
    return _group(n, LANG_SEPARATORS[lang][0])


def format_decimal(value_x10: int, lang: str) -> str:
    """One-decimal quantity given in tenths: 15 -> "1.5" (en) / "1,5" (pt)."""
    whole, tenth = divmod(value_x10, 10)
    if tenth == 0:
        return format_number(whole, lang)
    return f"{format_number(whole, lang)}{LANG_SEPARATORS[lang][1]}{tenth}"


def round_budget(minor: int, currency: str) -> int:
    """Round a budget up the way people say it ("under RM 50", "dưới 1.500.000 ₫")."""
    c = CURRENCIES[currency]
    unit = max(c.step, 10**c.decimals) * (10 if c.decimals == 0 and minor >= 100_000 else 1)
    return -(-minor // unit) * unit


def format_rating(value_x10: int, lang: str) -> str:
    """A star rating with its one decimal always shown: 40 -> "4.0" (en) / "4,0" (pt)."""
    whole, tenth = divmod(value_x10, 10)
    return f"{whole}{LANG_SEPARATORS[lang][1]}{tenth}"


_MONEY_RE = {
    code: re.compile(
        re.escape(c.prefix.strip())
        + r"\s?(-?[0-9][0-9"
        + re.escape(c.thousands + c.decimal)
        + r"]*)"
        + (r"\s?" + re.escape(c.suffix.strip()) if c.suffix else "")
    )
    for code, c in CURRENCIES.items()
}


def parse_money(text: str, currency: str) -> int:
    """Inverse of :func:`format_money`: the first amount of ``currency`` in ``text``, in minor
    units."""
    c = CURRENCIES[currency]
    m = _MONEY_RE[currency].search(text)
    if not m:
        raise ValueError(f"no {currency} amount in {text!r}")
    body = m.group(1).rstrip(c.thousands + c.decimal)
    if c.decimals == 0:
        return int(body.replace(c.thousands, ""))
    major, _, frac = body.replace(c.thousands, "").partition(c.decimal)
    return int(major) * 10**c.decimals + int((frac or "0").ljust(c.decimals, "0")[: c.decimals])


def round_price(usd: float, currency: str, charm: bool) -> int:
    """A shelf price in minor units: converted, rounded to the local step, optionally 'charm'
    priced (RM 45.90, ฿1,290, R$ 89,90) the way Southeast-Asian marketplaces list items."""
    c = CURRENCIES[currency]
    minor = usd * c.usd_rate * 10**c.decimals
    steps = max(1, round(minor / c.step))
    price = steps * c.step
    if charm:
        if currency in ("MYR", "BRL"):  # x.90
            price = max(90, (price // 100) * 100 + 90)
        elif currency in ("THB", "TWD") and price >= 100:  # 1,290 / 890
            price = (price // 100) * 100 + 90
        elif currency == "USD":  # 19.50, not 19.99: keeps discount arithmetic exact
            price = max(50, (price // 100) * 100 + 50)
    return price
