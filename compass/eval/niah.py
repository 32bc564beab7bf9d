"""Needle-in-a-haystack and line retrieval (report §2.3.3, Figure 9).

Haystack: generated multilingual prose (``compass.data.synth.prose``) filled up to a target length
in tokens. Needle: one sentence holding a random 7-digit number for a random key, placed at a
sentence boundary at a depth of 0–100 % of the haystack; the prompt ends with a question whose
completion is the number. Line retrieval (LongChat's "lines" test): many lines ``line <key>: REGISTER
_CONTENT is <number>``, asked for the number of one line at a given depth. Both are scored exactly
(the first number in the output equals the needle's), on the grid length × depth, per language.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from compass.eval.backend import encode_text
from compass.inference.params import SamplingParams
from compass.languages import LANGS

log = logging.getLogger(__name__)


@dataclass
class NiahConfig:
    lengths: list[int] = field(default_factory=list)  # prompt lengths in tokens; [] = 8 up to ctx
    depths: list[float] = field(default_factory=lambda: [0, 10, 25, 50, 75, 90, 100])  # percent
    langs: list[str] = field(default_factory=lambda: list(LANGS))
    test: str = "needle"  # "needle" or "lines"
    max_tokens: int = 12  # answer budget; a 7-digit number is a few tokens
    seed: int = 0


@dataclass
class Case:
    length: int  # target prompt length in tokens
    depth: float  # target depth, percent of the haystack
    lang: str
    key: str
    value: str
    prompt_ids: list[int]
    actual_depth: float  # where the needle's first token landed, percent of the haystack tokens
    output: str = ""
    correct: bool = False


def default_lengths(context: int, max_tokens: int, n: int = 8) -> list[int]:
    top = context - max_tokens
    return sorted({max(32, round(top * (i + 1) / n)) for i in range(n)})


def score(output: str, value: str) -> bool:
    """Exact retrieval: the first number in the output is the needle's number."""
    m = re.search(r"\d+", output)
    return bool(m) and m.group(0) == value


def _sentences(lang: str, rng: random.Random, n_chars: int) -> list[str]:
    from compass.data.synth.prose import prose_doc

    out: list[str] = []
    while sum(len(s) for s in out) < n_chars:
        doc = prose_doc(lang, rng)
        # Split after sentence-final punctuation (Latin, CJK and Thai-style spaces) or newlines.
        out += [s for s in re.split(r"(?<=[.!?。！？])\s*|\n+", doc) if s.strip()]
    return out


def _needle(lang: str, rng: random.Random) -> tuple[str, str, str, str]:
    """(key, value, needle sentence, question) — an English frame around a key from ``lang``'s
    lexicon: the frame must be the same across languages for scores to be comparable."""
    from compass.data.synth.lexicon import get_lexicon

    lex = get_lexicon(lang)
    key = f"{rng.choice(lex.foods)} {rng.randint(10, 99)}"
    value = str(rng.randint(1_000_000, 9_999_999))
    needle = f"The special magic number for {key} is {value}."
    question = f"What is the special magic number for {key}? The special magic number for {key} is"
    return key, value, needle, question


def _fit(tok, pieces: list[str], budget: int) -> list[str]:
    """The longest prefix of ``pieces`` whose joined text fits in ``budget`` tokens."""
    counts = [len(encode_text(tok, p)) + 1 for p in pieces]
    kept, total = [], 0
    for p, c in zip(pieces, counts):
        if total + c > budget:
            break
        kept.append(p)
        total += c
    while kept and len(encode_text(tok, " ".join(kept))) > budget:
        kept.pop()
    return kept


def _place(tok, pieces: list[str], needle: str, depth: float, sep: str) -> tuple[str, float]:
    """Insert ``needle`` at the piece boundary nearest to ``depth`` percent of the tokens."""
    total = len(encode_text(tok, sep.join(pieces)))
    target = depth / 100 * total
    best, best_err, upto = 0, float("inf"), 0
    for i in range(len(pieces) + 1):
        if abs(upto - target) < best_err:
            best, best_err = i, abs(upto - target)
        if i < len(pieces):
            upto += len(encode_text(tok, pieces[i])) + (1 if i else 0)
    before = sep.join(pieces[:best])
    text = sep.join([*pieces[:best], needle, *pieces[best:]])
    actual = 100 * len(encode_text(tok, before)) / max(total, 1) if before else 0.0
    return text, min(actual, 100.0)


def build_case(tok, length: int, depth: float, lang: str, cfg: NiahConfig, rng) -> Case:
    key, value, needle, question = _needle(lang, rng)
    if cfg.test == "lines":
        needle = f"line {key}: REGISTER_CONTENT is <{value}>"
        question = f"What is the REGISTER_CONTENT in line {key}? The REGISTER_CONTENT is <"
        sep = "\n"
    else:
        sep = " "
    budget = length - len(encode_text(tok, needle)) - len(encode_text(tok, "\n\n" + question)) - 2
    if cfg.test == "lines":
        lines = (_line(lang, rng) for _ in range(budget // 8 + 1))
        pieces = [x for x in lines if f"line {key}:" not in x]  # one line per key
    else:
        pieces = _sentences(lang, rng, n_chars=budget * 6)
    pieces = _fit(tok, pieces, budget)
    if not pieces:
        raise ValueError(
            f"length {length}: the needle and question take {length - budget} tokens, leaving no "
            "room for a haystack sentence; use longer --lengths"
        )
    text, actual = _place(tok, pieces, needle, depth, sep)
    ids = encode_text(tok, text + "\n\n" + question)
    return Case(length, depth, lang, key, value, ids, actual)


def _line(lang: str, rng: random.Random) -> str:
    from compass.data.synth.lexicon import get_lexicon

    lex = get_lexicon(lang)
    key = f"{rng.choice(lex.foods)} {rng.randint(10, 99)}"
    return f"line {key}: REGISTER_CONTENT is <{rng.randint(1_000_000, 9_999_999)}>"


def run_niah(engine, tokenizer, cfg: NiahConfig) -> list[Case]:
    """Build every (length, depth, language) case and answer them in one continuous batch."""
    lengths = cfg.lengths or default_lengths(engine.max_seq_len, cfg.max_tokens)
    too_long = [n for n in lengths if n + cfg.max_tokens > engine.max_seq_len]
    if too_long:
        raise ValueError(
            f"lengths {too_long} + max_tokens {cfg.max_tokens} exceed the model's context "
            f"{engine.max_seq_len}; pass shorter --lengths"
        )
    rng = random.Random(cfg.seed)
    cases = [
        build_case(tokenizer, n, d, lang, cfg, rng)
        for n in lengths
        for d in cfg.depths
        for lang in cfg.langs
    ]
    params = SamplingParams(temperature=0.0, max_tokens=cfg.max_tokens, stop=["\n"])
    outs = engine.generate([c.prompt_ids for c in cases], params)
    for c, o in zip(cases, outs):
        c.output, c.correct = o.text, score(o.text, c.value)
    acc = sum(c.correct for c in cases) / max(len(cases), 1)
    log.info("%s: %d cases, retrieval accuracy %.3f", cfg.test, len(cases), acc)
    return cases


def grid(cases: list[Case]) -> tuple[list[int], list[float], list[list[float]]]:
    """Mean accuracy per (depth row, length column), averaged over languages."""
    lengths = sorted({c.length for c in cases})
    depths = sorted({c.depth for c in cases})
    acc = []
    for d in depths:
        row = []
        for n in lengths:
            cell = [c.correct for c in cases if c.length == n and c.depth == d]
            row.append(sum(cell) / len(cell))
        acc.append(row)
    return lengths, depths, acc


def summary(cases: list[Case]) -> dict[str, Any]:
    lengths, depths, acc = grid(cases)
    by_lang: dict[str, float] = {}
    for lang in sorted({c.lang for c in cases}):
        mine = [c.correct for c in cases if c.lang == lang]
        by_lang[lang] = sum(mine) / len(mine)
    return {
        "accuracy": sum(c.correct for c in cases) / len(cases),
        "lengths": lengths,
        "depths": depths,
        "grid": acc,
        "by_lang": by_lang,
        "cases": [{k: v for k, v in asdict(c).items() if k != "prompt_ids"} for c in cases],
    }


def write_niah(cases: list[Case], out_dir: str | Path, test: str = "needle") -> dict[str, Path]:
    from compass.eval.plots import heatmap
    from compass.utils.io import atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = summary(cases)
    atomic_write_json(out / f"niah_{test}.json", s)
    title = "Needle in a haystack" if test == "needle" else "Line retrieval"
    png = heatmap(s["grid"], s["lengths"], s["depths"], out / f"niah_{test}.png", title)
    return {"json": out / f"niah_{test}.json", "png": png}
