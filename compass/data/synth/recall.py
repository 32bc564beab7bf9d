"""Pages that state a fact and ask for it again further down: what teaches a model to look back.

Web text is full of them (an order confirmation repeating its order number, a shop page giving its
phone number at the top and again at the bottom); the rest of the built-in corpus has almost
none. A recall page states a few facts (product codes,
order numbers, shop phone numbers; keys of one kind share a frame, so only the key tells them
apart) at random places in filler text (product pages, reviews, prose), then asks for most of
them again and answers in the frame of the statement: every answer is a copy from far above.

Two lengths: short pages fit the main stage's context, long ones the long stage's, so retrieval
is learned at the distances each stage trains. Token counts are estimated from characters
(``estimate_tokens``: a digit is a token, other text at ``CHARS_PER_TOKEN``, measured with the
tiny recipe's 4k tokenizer; short pages come out at 100-185 tokens, so the main stage's loader
packs each whole into one sequence); a miss only shifts a length.

Disjoint from the needle-in-a-haystack eval (``compass.eval.niah``) by construction: the frames
below never say "special magic number" or "REGISTER_CONTENT", keys are brand + model names,
shopper and shop names (never "<food> <number>"), and no value is a 7-digit number (codes carry
letters, order numbers have 5, 6 or 8 digits, phone numbers are grouped). ``tests/data_synth``
checks it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from compass.data.synth.prose import prose_doc
from compass.data.synth.world import World
from compass.languages import NO_SPACE_LANGS

# fact = head + value + tail; the answer repeats head, so the value is what the model must find.
_HEADS = {
    "en": "The {label} for {key} is ",
    "zh": "{key}的{label}是",
    "id": "{Label} untuk {key} adalah ",
    "ms": "{Label} bagi {key} ialah ",
    "th": "{label}ของ{key}คือ ",
    "vi": "{Label} của {key} là ",
    "tl": "Ang {label} ng {key} ay ",
    "pt": "O {label} de {key} é ",
}
_QUESTIONS = {
    "en": "What is the {label} for {key}?",
    "zh": "{key}的{label}是什么？",
    "id": "Apa {label} untuk {key}?",
    "ms": "Apakah {label} bagi {key}?",
    "th": "{label}ของ{key}คืออะไร",
    "vi": "{Label} của {key} là gì?",
    "tl": "Ano ang {label} ng {key}?",
    "pt": "Qual é o {label} de {key}?",
}
_TAILS = {"zh": "。", "th": " "}  # others end with "."
# Labels of the three kinds: product code, order number, phone number.
_LABELS = {
    "en": ("product code", "order number", "phone number"),
    "zh": ("产品编号", "订单号", "电话号码"),
    "id": ("kode produk", "nomor pesanan", "nomor telepon"),
    "ms": ("kod produk", "nombor pesanan", "nombor telefon"),
    "th": ("รหัสสินค้า", "หมายเลขคำสั่งซื้อ", "หมายเลขโทรศัพท์"),
    "vi": ("mã sản phẩm", "số đơn hàng", "số điện thoại"),
    "tl": ("code ng produkto", "numero ng order", "numero ng telepono"),
    "pt": ("código do produto", "número do pedido", "número de telefone"),
}
KINDS = ("code", "order", "phone")
SHORT_FACTS, LONG_FACTS = (2, 5), (4, 10)  # facts per page, fewer where they do not fit
FACT_SHARE = 0.6  # at most this share of a page's estimated tokens is facts and answers
CHARS_PER_TOKEN = {
    "en": 2.9,
    "zh": 1.0,
    "id": 3.1,
    "ms": 3.3,
    "th": 2.0,
    "vi": 2.5,
    "tl": 3.0,
    "pt": 2.6,
}
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIAL = {
    "en": "+65",
    "zh": "+886",
    "id": "+62",
    "ms": "+60",
    "th": "+66",
    "vi": "+84",
    "tl": "+63",
    "pt": "+55",
}


@dataclass
class Fact:
    key: str
    value: str
    label: str
    head: str  # the frame up to the value; the answer repeats it
    question: str


def random_value(kind: str, lang: str, rng: random.Random) -> str:
    """Never a bare 7-digit number: the eval's needles are those."""
    if kind == "code":
        letters = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 3)))
        return f"{letters}-{rng.randint(10_000, 99_999)}"
    if kind == "order":
        digits = rng.choice((5, 6, 8))
        return str(rng.randint(10 ** (digits - 1), 10**digits - 1))
    groups = (rng.randint(100, 999), rng.randint(1000, 9999), rng.randint(1000, 9999))
    return f"{_DIAL[lang]} {groups[0]}-{groups[1]}-{groups[2]}"


def _keys(world: World, kind: str, lang: str, n: int, rng: random.Random) -> list[str]:
    keys: list[str] = []
    for _ in range(20 * n):
        if kind == "code":
            p = rng.choice(world.products)
            key = f"{p.brand} {p.model}"
        elif kind == "order":
            key = world.user_name(lang, rng)
        else:
            key = rng.choice(world.shops).name
        if key not in keys:
            keys.append(key)
        if len(keys) == n:
            break
    return keys


def facts(world: World, lang: str, n: int, rng: random.Random) -> list[Fact]:
    """``n`` facts of one to three kinds; mixing kinds keeps one frame from filling the page."""
    kinds = [rng.choice(KINDS) for _ in range(n)]
    out = []
    for kind in sorted(set(kinds)):
        label = _LABELS[lang][KINDS.index(kind)]
        for key in _keys(world, kind, lang, kinds.count(kind), rng):
            slots = {"label": label, "Label": label[:1].upper() + label[1:], "key": key}
            out.append(
                Fact(
                    key,
                    random_value(kind, lang, rng),
                    label,
                    _HEADS[lang].format(**slots),
                    _QUESTIONS[lang].format(**slots),
                )
            )
    rng.shuffle(out)
    return out


def filler_paragraph(world: World, lang: str, rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.3:
        return world.describe(rng.choice(world.products), lang, rng)
    if pick < 0.65:
        return world.review(rng.choice(world.products), lang, rng).document
    return rng.choice(prose_doc(lang, rng).split("\n\n"))  # one paragraph: short pages fit it


def estimate_tokens(text: str, lang: str) -> float:
    """Tokens of ``text`` under the tiny recipe's tokenizer, roughly: digits one each (a value's
    digits rarely merge), other characters at the language's ``CHARS_PER_TOKEN``."""
    digits = sum(c.isdigit() for c in text)
    return digits + (len(text) - digits) / CHARS_PER_TOKEN[lang]


def recall_doc(world: World, lang: str, rng: random.Random, max_tokens: int) -> str:
    """One page of 0.6-1.0 × ``max_tokens`` (estimated): facts at random depths in filler, asked
    for again at the end. Facts take at most ``FACT_SHARE`` of the page (one at least), so a
    short page fits the main stage's sequence whole and still has filler between its facts."""
    tail = _TAILS.get(lang, ".")
    target = rng.uniform(0.6, 1.0) * max_tokens
    known = facts(world, lang, rng.randint(*(SHORT_FACTS if max_tokens < 400 else LONG_FACTS)), rng)
    # Half the facts are stated as a spec-sheet line, half in the answer's sentence frame: the
    # answer is a copy across layouts, and a sentence-stated fact is always asked as a question
    # first, so no answer line repeats a statement (curation drops pages of duplicate lines).
    sep = "" if lang in NO_SPACE_LANGS else " "
    stated, answer = {}, {}
    for f in known:
        as_line = rng.random() < 0.5
        stated[f.key] = f"{f.key} · {f.label}: {f.value}" if as_line else f"{f.head}{f.value}{tail}"
        ask = not as_line or rng.random() < 0.5
        answer[f.key] = f"{f.question + sep if ask else ''}{f.head}{f.value}{tail}"

    def cost(fs: list[Fact]) -> float:
        return sum(estimate_tokens(stated[f.key] + answer[f.key], lang) + 2 for f in fs)

    while len(known) > 1 and cost(known) > FACT_SHARE * target:
        known.pop()
    asked = rng.sample(known, rng.randint(max(1, len(known) - 1), len(known)))
    budget = target - cost(known)
    pieces: list[str] = []
    used, misses = 0.0, 0
    while misses < 8:  # a filler that does not fit is skipped; eight in a row end the page
        piece = filler_paragraph(world, lang, rng)
        n = estimate_tokens(piece, lang) + 1
        if used + n > budget:
            misses += 1
            continue
        pieces.append(piece)
        used, misses = used + n, 0
    for f in known:  # each fact at a random depth of the page
        pieces.insert(rng.randint(0, len(pieces)), stated[f.key])
    return "\n\n".join([*pieces, "\n".join(answer[f.key] for f in asked)])
