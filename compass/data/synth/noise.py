"""Planted noise for curation to catch, each document labelled with its kind.

Kinds: near_duplicate (a clean document with small edits), boilerplate (navigation, cookie and
copyright lines), spam (shouting, links, scams), keyword_stuffing (a query repeated into a
"page"), mojibake (UTF-8 decoded as cp1252), mixed_language (lines of two languages interleaved).
Curation reports precision/recall per kind against the ``noise`` field.
"""

from __future__ import annotations

import random

from compass.data.synth.facts import Facts
from compass.data.synth.lexicon import get_lexicon

NOISE_KINDS = (
    "near_duplicate",
    "boilerplate",
    "spam",
    "keyword_stuffing",
    "mojibake",
    "mixed_language",
)


def near_duplicate(text: str, rng: random.Random) -> str:
    """1-3 small edits: drop, repeat or re-case a word, or add a trailing mark — what mirrored
    listings and re-posts look like. Chinese and Thai have no spaces between words (a "word"
    would be a whole clause), so there the edits act on single characters."""
    tokens = text.split(" ")
    by_word = len(tokens) >= 8 and max(len(t) for t in tokens) <= 30
    units = tokens if by_word else list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(units))
        op = rng.randrange(4)
        if op == 0 and len(units) > 8 and units[i].strip():
            del units[i]
        elif op == 1:
            units.insert(i, units[i])
        elif op == 2 and by_word:
            units[i] = units[i].upper()
        else:
            units.append(rng.choice((" !", " ...", " 👍", " #sale")))
    out = (" " if by_word else "").join(units)
    # Upper-casing a word without letters changes nothing: make sure the copy is not exact.
    return out if out != text else out + " !"


def boilerplate(lang: str, rng: random.Random) -> str:
    lines = list(get_lexicon(lang).boilerplate)
    out = [rng.choice(lines) for _ in range(rng.randint(4, 9))]
    return "\n".join(out)


def spam(lang: str, rng: random.Random) -> str:
    lines = get_lexicon(lang).spam
    out = []
    for _ in range(rng.randint(3, 7)):
        line = rng.choice(lines)
        out.append(line.upper() if rng.random() < 0.4 else line)
        if rng.random() < 0.4:
            out.append(
                "🔥🔥🔥 " + "!" * rng.randint(3, 9) + f" http://promo{rng.randint(1, 99)}.xyz"
            )
    return "\n".join(out)


def keyword_stuffing(world: Facts, lang: str, rng: random.Random) -> str:
    lex = get_lexicon(lang)
    p = rng.choice(world.products)
    words = [*lex.nouns[p.category], p.brand, lex.colours.get(p.colour, ""), p.model]
    words = [w for w in words if w]
    sep = "、" if lang == "zh" else rng.choice((" ", ", ", " | "))
    return sep.join(rng.choice(words) for _ in range(rng.randint(30, 90)))


def mojibake(text: str) -> str:
    """UTF-8 bytes read as cp1252: 'Hà Nội' -> 'HÃ  Ná»™i' (bytes cp1252 lacks map to latin-1)."""
    return "".join(
        bytes([b]).decode("cp1252", errors="strict") if b not in _CP1252_HOLES else chr(b)
        for b in text.encode("utf-8")
    )


_CP1252_HOLES = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def mixed_language(text_a: str, text_b: str, rng: random.Random) -> str:
    """Alternate lines of two documents in different languages (a badly merged page)."""
    a = [x for x in text_a.split("\n") if x.strip()]
    b = [x for x in text_b.split("\n") if x.strip()]
    out = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            out.append(a[i])
        if i < len(b) and rng.random() < 0.8:
            out.append(b[i])
    return "\n".join(out)
