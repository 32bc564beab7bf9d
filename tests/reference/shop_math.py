"""Plain oracle for the generator's shop arithmetic and local money formats.

Written from the formats' definitions, not from ``compass.data.synth.money``: a checker that
shared the generator's code would share its bugs.
"""

from __future__ import annotations

import re

# currency -> (prefix, suffix, thousands separator, decimal separator, decimals)
FORMATS = {
    "USD": ("$", "", ",", ".", 2),
    "CNY": ("¥", "", ",", ".", 2),
    "TWD": ("NT$", "", ",", ".", 0),
    "IDR": ("Rp ", "", ".", ",", 0),
    "MYR": ("RM ", "", ",", ".", 2),
    "THB": ("฿", "", ",", ".", 0),
    "VND": ("", " ₫", ".", ",", 0),
    "PHP": ("₱", "", ",", ".", 2),
    "BRL": ("R$ ", "", ".", ",", 2),
}


def money(minor: int, cur: str) -> str:
    prefix, suffix, thou, dec, decimals = FORMATS[cur]
    major, frac = divmod(minor, 10**decimals)
    body = f"{major:,}".replace(",", thou)
    if decimals:
        body += dec + f"{frac:0{decimals}d}"
    return prefix + body + suffix


def money_regex(cur: str) -> str:
    prefix, suffix, thou, dec, decimals = FORMATS[cur]
    body = r"\d{1,3}(?:" + re.escape(thou) + r"\d{3})*"
    if decimals:
        body += re.escape(dec) + r"\d" + "{" + str(decimals) + "}"
    return re.escape(prefix) + body + re.escape(suffix)


def parse_money(text: str, cur: str) -> int:
    prefix, suffix, thou, dec, decimals = FORMATS[cur]
    body = text[len(prefix) : len(text) - len(suffix) if suffix else None]
    major, _, frac = body.replace(thou, "").partition(dec)
    return int(major) * 10**decimals + (int(frac) if decimals else 0)


def solve(kind: str, x: dict) -> int:
    """The answer, in minor units, of one problem from its inputs."""
    if kind == "discount":
        assert x["price"] * x["pct"] % 100 == 0, "discount must be exact in minor units"
        return (x["price"] - x["price"] * x["pct"] // 100) * x["qty"]
    if kind == "bundle":
        return (x["qty"] - x["qty"] // (x["k"] + 1)) * x["price"]
    if kind == "voucher":
        sub = x["price"] * x["qty"]
        return sub - x["voucher"] if sub >= x["minspend"] else sub
    if kind == "shipping":
        sub = x["price"] * x["qty"]
        return sub if sub >= x["threshold"] else sub + x["fee"]
    if kind == "unit_price":
        a, b = x["pa"] * 100 / x["qa"], x["pb"] * 100 / x["qb"]
        assert a == int(a) and b == int(b) and a != b
        assert x["pack"] == ("A" if a < b else "B")
        return int(min(a, b))
    if kind == "instalment":
        assert x["price"] % x["months"] == 0
        return x["price"] // x["months"]
    raise ValueError(kind)


def check_steps(text: str, cur: str) -> int:
    """Verify every ``a op b = c`` in ``text`` (money or integers); return how many were checked."""
    amount = money_regex(cur)
    term = f"({amount}|\\d+)"
    pattern = re.compile(term + r" ([×÷+−]) " + term + " = " + term)
    checked = 0
    for m in pattern.finditer(text):
        a, op, b, c = m.group(1), m.group(2), m.group(3), m.group(4)

        def val(s: str) -> int:
            return int(s) if s.isdigit() else parse_money(s, cur)

        va, vb, vc = val(a), val(b), val(c)
        want = {"×": va * vb, "+": va + vb, "−": va - vb, "÷": va // vb}[op]
        if op == "÷":
            assert va // vb == vc, m.group(0)
        else:
            assert want == vc, f"{m.group(0)}: expected {want}"
        checked += 1
    return checked
