"""Preference pairs: generated from the shared World in every language, or read from JSONL.

Three generated kinds (report §4.1's "better vs worse answer", built so the better one is known):

- ``arithmetic``: a shop-floor problem; chosen states the right total, rejected a wrong one (a
  plausible slip: a step forgotten, a percentage misapplied), with or without the steps;
- ``language``: a question in language L; chosen answers in L, rejected gives the same facts in
  another language;
- ``grounding``: a question about a product; chosen states its real price or attribute, rejected
  another product's (a hallucinated fact).

A pair is ``{"prompt": str | messages, "chosen": str, "rejected": str, "lang", "kind"}``.
Unusable pairs are counted and skipped with a reason, never silently dropped.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from compass.data.synth.lexicon import get_lexicon
from compass.data.synth.money import format_money
from compass.data.synth.render import attr_label, attr_value, title
from compass.data.synth.world import World
from compass.reward.config import LANGS

Pair = dict[str, Any]
_SLIPS = (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)


def _answer(lang: str, value: str) -> str:
    return get_lexicon(lang).answer.format(value=value)


def _wrong_amount(minor: int, currency: str, rng: random.Random) -> str:
    for _ in range(10):
        wrong = round(minor * rng.choice(_SLIPS))
        if currency not in ("IDR", "VND"):
            wrong = wrong - wrong % 10  # a real-looking price, not 123.47
        if wrong > 0 and wrong != minor:
            return format_money(wrong, currency)
    return format_money(minor + 1000, currency)


def _arithmetic(w: World, lang: str, rng: random.Random) -> Pair:
    pr = w.problem(lang, rng)
    wrong = _answer(lang, _wrong_amount(pr.answer_minor, pr.currency, rng))
    right = _answer(lang, pr.answer)
    if rng.random() < 0.5:  # a full solution whose last line does or does not follow the steps
        right, wrong = pr.solution + "\n" + right, pr.solution + "\n" + wrong
    return {"prompt": pr.question, "chosen": right, "rejected": wrong}


def _short_description(w: World, p, lang: str, rng: random.Random) -> str:
    lines = w.describe(p, lang, rng).split("\n")
    return "\n".join([lines[0], lines[-1]])  # title and price: the same facts in every language


def _language(w: World, lang: str, rng: random.Random) -> Pair:
    p = rng.choice(w.products)
    other = rng.choice([x for x in LANGS if x != lang])
    prompt = get_lexicon(lang).eval_prompts["product_question"].format(title=title(p, lang))
    seed = rng.random()
    return {
        "prompt": prompt,
        "chosen": _short_description(w, p, lang, random.Random(seed)),
        "rejected": _short_description(w, p, other, random.Random(seed)),
    }


def _grounding(w: World, lang: str, rng: random.Random) -> Pair | None:
    p = rng.choice(w.products)
    lex = get_lexicon(lang)
    if rng.random() < 0.5:
        same = [q for q in w.in_category(p.category) if w.price(q, lang) != w.price(p, lang)]
        if not same:
            return None
        q = rng.choice(same)
        prompt = lex.eval_prompts["product_question"].format(title=title(p, lang))
        return {
            "prompt": prompt,
            "chosen": _answer(lang, w.format_price(p, lang)),
            "rejected": _answer(lang, w.format_price(q, lang)),
        }
    attr = rng.choice(("colour", "material", "spec"))
    value = attr_value(p, lang, attr)
    text = title(p, lang, rng.randrange(4))
    others = {attr_value(q, lang, attr) for q in rng.sample(w.products, min(30, len(w.products)))}
    others = sorted(o for o in others if o and o != value and o not in text)
    if not value or value not in text or not others:
        return None
    prompt = lex.eval_prompts["attribute_extraction"].format(text=text, attr=attr_label(lang, attr))
    return {"prompt": prompt, "chosen": value, "rejected": rng.choice(others)}


BUILDERS = {"arithmetic": _arithmetic, "language": _language, "grounding": _grounding}


def generate_pairs(
    world: World,
    langs: list[str],
    kinds: list[str],
    per_lang_kind: int,
    seed: int,
    stream: str,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[Pair]:
    """``per_lang_kind`` pairs of each kind in each language from the stream ``stream``; prompts
    in ``exclude`` (another split's) are never used, so train and held-out pairs are disjoint."""
    pairs: list[Pair] = []
    for lang in langs:
        for kind in kinds:
            rng = random.Random(f"{stream}:{seed}:{kind}:{lang}")
            got = 0
            for _ in range(per_lang_kind * 20):
                pair = BUILDERS[kind](world, lang, rng)
                if pair is None or pair["prompt"] in exclude or pair["chosen"] == pair["rejected"]:
                    continue
                pairs.append({**pair, "lang": lang, "kind": kind})
                got += 1
                if got == per_lang_kind:
                    break
    return pairs


def check_pair(pair: Any) -> str | None:
    """None when the pair is usable, else why not."""
    if not isinstance(pair, dict):
        return "not a JSON object"
    for key in ("prompt", "chosen", "rejected"):
        if key not in pair:
            return f"missing field '{key}'"
    prompt = pair["prompt"]
    if not isinstance(prompt, str | list) or not prompt:
        return "empty prompt"
    if isinstance(prompt, list) and any(not isinstance(m, dict) or "role" not in m for m in prompt):
        return "prompt messages need a 'role' each"
    for key in ("chosen", "rejected"):
        if not isinstance(pair[key], str):
            return f"'{key}' is not a string"
        if not pair[key].strip():
            return "empty response"
    if pair["chosen"].strip() == pair["rejected"].strip():
        return "chosen equals rejected"
    return None


def read_pairs(paths: list[str | Path], skipped: Counter) -> list[Pair]:
    """Pairs from JSONL files; bad lines are counted in ``skipped`` under their reason."""
    pairs: list[Pair] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"reward.inputs: {path} does not exist — give JSONL files of "
                '{"prompt", "chosen", "rejected"}'
            )
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    pair = json.loads(line)
                except json.JSONDecodeError:
                    skipped["invalid JSON"] += 1
                    continue
                reason = check_pair(pair)
                if reason:
                    skipped[reason] += 1
                    continue
                pairs.append({"lang": "", "kind": "file", **pair})
    return pairs


def prompt_messages(prompt: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
