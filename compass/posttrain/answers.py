"""Answer checking, the rule-based reward of report §4.2: parse the final answer, compare it to
the reference (SFT evaluation, Best-of-N, on-policy pairs and online DPO all use this one).

The final answer is what follows the last answer marker of any of the eight languages
("Answer:", "Jawaban:", "答案：", ...), the marker every generated solution ends with; without a
marker, the last amount of money or number in the text. Comparison is
``compass.eval.answers.is_correct``: exact text, the same amount in the item's currency (local
money formats), then math-verify's symbolic equivalence.
"""

from __future__ import annotations

import re
from typing import Any

from compass.data.synth.lexicon import get_lexicon
from compass.eval.answers import is_correct
from compass.languages import LANGS

_MARKERS = tuple(get_lexicon(lang).answer.split("{value}")[0].strip() for lang in LANGS)
_MARKER_RE = re.compile("|".join(re.escape(m) for m in sorted(_MARKERS, key=len, reverse=True)))
# An amount: optional currency prefix, digits with thousands/decimal separators, optional suffix.
_AMOUNT_RE = re.compile(r"(?:[A-Z]{0,3}\$|Rp|RM|฿|₫|₱|¥|S\$)?\s?\d[\d.,]*(?:\s?(?:₫|đ))?")


def final_answer(text: str) -> str:
    """The answer a response commits to ("" when it states none)."""
    marks = list(_MARKER_RE.finditer(text))
    if marks:
        tail = text[marks[-1].end() :].strip()
        return tail.split("\n", 1)[0].strip()
    amounts = _AMOUNT_RE.findall(text)
    return amounts[-1].strip() if amounts else ""


def has_verifiable_answer(item: dict[str, Any]) -> bool:
    """A math prompt can be checked only when it carries a non-empty reference answer."""
    answer = item.get("answer")
    return isinstance(answer, str | int | float) and str(answer).strip() != ""


def check_answer(response: str, item: dict[str, Any]) -> bool:
    """Whether ``response``'s final answer equals the item's (``answer``, ``answer_minor``,
    ``currency`` as in ``compass.data.synth.evalgen`` numerical items)."""
    pred = final_answer(response)
    meta = {k: item[k] for k in ("answer_minor", "currency") if k in item}
    return is_correct(pred, str(item["answer"]), meta)
