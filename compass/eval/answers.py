"""Pull the final answer out of a generation and check it against the reference.

Checks, in order: exact match after whitespace/case normalisation; the same amount of money in the
item's currency (local formats like "Rp 150.000" or "R$ 89,90" parse to minor units); and
math-verify's symbolic equivalence for LaTeX / plain numbers (it runs offline; its timeouts use
signals, so this must run on the main thread).
"""

from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).strip().lower().split()).rstrip(".。")


def extract(output: str, regex: str | None) -> str:
    if regex is None:
        return output.strip()
    m = re.search(regex, output, flags=re.S)
    return m.group(1).strip() if m else ""


def _money_equal(pred: str, meta: dict) -> bool:
    if "answer_minor" not in meta or "currency" not in meta:
        return False
    try:
        from compass.data.synth.money import parse_money

        return parse_money(pred, meta["currency"]) == int(meta["answer_minor"])
    except (ImportError, ValueError, KeyError):
        return False


def _math_equal(pred: str, gold: str) -> bool:
    try:
        from math_verify import parse, verify
    except ImportError:
        return False
    try:
        g, p = parse(gold), parse(pred)
        return bool(g and p and verify(g, p))
    except Exception:  # math-verify raises many parser errors; an unparsable answer is wrong
        return False


def is_correct(pred: str, gold: str, meta: dict | None = None) -> bool:
    if not pred:
        return False
    if normalise(pred) == normalise(gold):
        return True
    if meta and _money_equal(pred, meta):
        return True
    return _math_equal(pred, gold)
