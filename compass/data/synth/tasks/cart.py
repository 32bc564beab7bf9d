"""Multi-step shopping-cart arithmetic: the long-CoT data of the deep mode and its held-out test.

A problem chains up to three operations on short whole amounts: quantity × unit price, plus a
shipping fee, minus a voucher. Each step on its own is small (a times-table fact, adding or
subtracting one digit), so a ~10M-parameter model can learn the steps; the composition of all
three in one go is what fast mode must do without writing anything down. Deep mode writes one
step per line (``3 × 7 = 21``) inside ``<think>`` and then the localised answer, so the two
modes of one model can be compared on the same questions (report §5).

Amounts are whole major units rendered in the language's currency (``RM 33.00``, ``Rp 33``), so
``money.parse_money`` checks an answer in any of the eight languages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import CURRENCIES, LANG_CURRENCY, format_money

KINDS = ("ship_voucher", "ship", "voucher")

# (buy, shipping, voucher, question) clauses per language; slots name q noun p s v.
_CLAUSES: dict[str, tuple[str, str, str, str]] = {
    "en": (
        "{name} buys {q} {noun} at {p} each.",
        " Shipping costs {s}.",
        " {name} uses a {v} voucher.",
        " How much does {name} pay in total?",
    ),
    "zh": (
        "{name}买了{q}个{noun}，每个{p}。",
        "运费{s}。",
        "{name}用了一张{v}的优惠券。",
        "{name}一共要付多少钱？",
    ),
    "id": (
        "{name} membeli {q} {noun} seharga {p} per buah.",
        " Ongkos kirimnya {s}.",
        " {name} memakai voucher {v}.",
        " Berapa total yang dibayar {name}?",
    ),
    "ms": (
        "{name} membeli {q} {noun} pada harga {p} seunit.",
        " Kos penghantaran ialah {s}.",
        " {name} menggunakan baucar {v}.",
        " Berapakah jumlah yang perlu dibayar oleh {name}?",
    ),
    "th": (
        "{name}ซื้อ{noun} {q} ชิ้น ชิ้นละ {p}",
        " ค่าส่ง {s}",
        " {name}ใช้คูปองส่วนลด {v}",
        " {name}ต้องจ่ายทั้งหมดเท่าไร",
    ),
    "vi": (
        "{name} mua {q} {noun}, mỗi cái {p}.",
        " Phí vận chuyển là {s}.",
        " {name} dùng phiếu giảm giá {v}.",
        " {name} phải trả tổng cộng bao nhiêu?",
    ),
    "tl": (
        "Bumili si {name} ng {q} {noun} sa halagang {p} bawat isa.",
        " Ang shipping fee ay {s}.",
        " Gumamit si {name} ng voucher na {v}.",
        " Magkano ang kabuuang babayaran ni {name}?",
    ),
    "pt": (
        "{name} compra {q} {noun} por {p} cada.",
        " O frete custa {s}.",
        " {name} usa um cupom de {v}.",
        " Quanto {name} paga no total?",
    ),
}

_NOUN_CATEGORIES = ("shampoo", "coffee", "water_bottle", "sunscreen")


@dataclass
class CartProblem:
    lang: str
    kind: str
    question: str
    steps: list[str]
    total: int  # whole major units
    currency: str
    inputs: dict[str, int]

    @property
    def answer(self) -> str:
        return get_lexicon(self.lang).answer.format(value=money(self.total, self.currency))

    @property
    def answer_minor(self) -> int:
        return self.total * 10 ** CURRENCIES[self.currency].decimals

    def messages(self, deep: bool) -> list[dict[str, Any]]:
        """The chat sample: deep mode carries the steps as ``reasoning_content``."""
        reply: dict[str, Any] = {"role": "assistant", "content": self.answer}
        if deep:
            reply["reasoning_content"] = "\n".join(self.steps)
        return [{"role": "user", "content": self.question}, reply]


def money(amount: int, currency: str) -> str:
    return format_money(amount * 10 ** CURRENCIES[currency].decimals, currency)


def _noun(lang: str, rng: random.Random) -> str:
    nouns = get_lexicon(lang).nouns
    cats = [c for c in _NOUN_CATEGORIES if c in nouns] or sorted(nouns)
    return nouns[rng.choice(cats)][0]


def make_cart_problem(lang: str, rng: random.Random, kind: str | None = None) -> CartProblem:
    """One problem; every intermediate and the total are positive whole amounts."""
    kind = kind or rng.choice(KINDS)
    cur = LANG_CURRENCY[lang]
    q, p = rng.randint(2, 9), rng.randint(2, 9)
    a = q * p
    s = rng.randint(1, 9) if kind != "voucher" else 0
    b = a + s
    v = rng.randint(1, min(9, b - 1)) if kind != "ship" else 0
    steps = [f"{q} × {p} = {a}"]
    if s:
        steps.append(f"{a} + {s} = {b}")
    c = b - v
    if v:
        steps.append(f"{b} - {v} = {c}")
    lex = get_lexicon(lang)
    buy, ship, voucher, ask = _CLAUSES[lang]
    slots = {
        "name": rng.choice(lex.names),
        "q": q,
        "noun": _noun(lang, rng),
        "p": money(p, cur),
        "s": money(s, cur),
        "v": money(v, cur),
    }
    text = buy + (ship if s else "") + (voucher if v else "") + ask
    inputs = {"q": q, "p": p, "s": s, "v": v}
    return CartProblem(lang, kind, text.format(**slots), steps, c, cur, inputs)


def cart_problems(lang: str, n: int, seed: int, stream: str, exclude: set[str] = frozenset()):
    """``n`` distinct problems from the stream ``{stream}:{seed}:{lang}``, none in ``exclude``."""
    rng = random.Random(f"cart:{stream}:{seed}:{lang}")
    out, seen = [], set(exclude)
    for _ in range(n * 50):
        pr = make_cart_problem(lang, rng)
        if pr.question in seen:
            continue
        seen.add(pr.question)
        out.append(pr)
        if len(out) == n:
            break
    return out


def eval_item(pr: CartProblem, index: int) -> dict[str, Any]:
    """A held-out item in the eval harness's exact-answer format."""
    return {
        "id": f"cart-{pr.lang}-{index:04d}",
        "lang": pr.lang,
        "task": "cart_arithmetic",
        "type": "exact",
        "prompt": pr.question,
        "answer": money(pr.total, pr.currency),
        "answer_minor": pr.answer_minor,
        "currency": pr.currency,
        "kind": pr.kind,
        "solution": "\n".join(pr.steps),
        "inputs": pr.inputs,
    }
