"""Needle-in-a-haystack and line retrieval (report §2.3.3, Figure 9).

Haystack: sentences of generated multilingual prose (``compass.data.synth.prose``), shuffled
across documents so no haystack is a page of the training corpus, filled up to a target length
in tokens. Needle: one sentence holding a random 7-digit number for a random key, placed at a
sentence boundary at a depth of 0–100 % of the haystack; the prompt ends with a question whose
completion is the number. Line retrieval (LongChat's "lines" test): many lines
``line <key>: REGISTER_CONTENT is <number>``, asked for the number of one line at a given depth.
Both are scored exactly (the first number in the output equals the needle's), on the grid
length × depth, per language.
The training corpus teaches retrieval with other frames, keys and value formats
(``compass.data.synth.recall``), so no needle is ever seen in training.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
from dataclasses import asdict, dataclass, field, replace
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
    per_cell: int = 0  # languages per (length, depth) cell, taken in turn from langs; 0 = all


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
    rng.shuffle(out)  # neighbours come from different documents: no corpus page is a haystack
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
    """``pieces`` in order while their joined text fits in ``budget`` tokens; one that would
    overflow is skipped for a shorter one after it."""
    counts = [len(encode_text(tok, p)) + 1 for p in pieces]
    kept, total = [], 0
    for p, c in zip(pieces, counts):
        if total + c > budget:
            continue
        kept.append(p)
        total += c
    while kept and len(encode_text(tok, " ".join(kept))) > budget:
        kept.pop()
    return kept


def _place(tok, pieces: list[str], needle: str, depth: float, sep: str) -> tuple[str, float]:
    """Insert ``needle`` at the piece boundary nearest to ``depth`` percent of the tokens."""
    # Boundaries and target on one scale (pieces counted apart): the joined text can tokenize a
    # little shorter, which would otherwise push a 100 % needle before the last piece.
    counts = [len(encode_text(tok, p)) + (1 if i else 0) for i, p in enumerate(pieces)]
    target = depth / 100 * sum(counts)
    best, best_err, upto = 0, float("inf"), 0
    for i in range(len(pieces) + 1):
        if abs(upto - target) < best_err:
            best, best_err = i, abs(upto - target)
        if i < len(pieces):
            upto += counts[i]
    total = len(encode_text(tok, sep.join(pieces)))
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
        pieces = _sentences(lang, rng, n_chars=max(budget * 6, 3000))  # short ones to fill with
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


def build_cases(tokenizer, cfg: NiahConfig, context: int) -> list[Case]:
    """Every (length, depth, language) case of ``cfg`` for a model with ``context`` positions."""
    lengths = cfg.lengths or default_lengths(context, cfg.max_tokens)
    too_long = [n for n in lengths if n + cfg.max_tokens > context]
    if too_long:
        raise ValueError(
            f"lengths {too_long} + max_tokens {cfg.max_tokens} exceed the model's context "
            f"{context}; pass shorter --lengths"
        )
    rng = random.Random(cfg.seed)
    langs = itertools.cycle(cfg.langs)
    per_cell = cfg.per_cell or len(cfg.langs)
    return [
        build_case(tokenizer, n, d, next(langs), cfg, rng)
        for n in lengths
        for d in cfg.depths
        for _ in range(per_cell)
    ]


def answer(engine, cases: list[Case], cfg: NiahConfig) -> list[Case]:
    """Fresh copies of ``cases`` answered greedily in one continuous batch, and scored."""
    params = SamplingParams(temperature=0.0, max_tokens=cfg.max_tokens, stop=["\n"])
    outs = engine.generate([c.prompt_ids for c in cases], params)
    done = [replace(c, output=o.text, correct=score(o.text, c.value)) for c, o in zip(cases, outs)]
    acc = sum(c.correct for c in done) / max(len(done), 1)
    log.info("%s: %d cases, retrieval accuracy %.3f", cfg.test, len(done), acc)
    return done


def run_niah(engine, tokenizer, cfg: NiahConfig) -> list[Case]:
    return answer(engine, build_cases(tokenizer, cfg, engine.max_seq_len), cfg)


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
    by_length = {n: sum(col) / len(col) for n, col in zip(lengths, zip(*acc))}
    return {
        "accuracy": sum(c.correct for c in cases) / len(cases),
        "by_length": by_length,
        "lengths": lengths,
        "depths": depths,
        "grid": acc,
        "by_lang": by_lang,
        "cases": [{k: v for k, v in asdict(c).items() if k != "prompt_ids"} for c in cases],
    }


def niah_checkpoint(
    ckpt: str | Path,
    cfgs: list[NiahConfig],
    out_dir: str | Path,
    tokenizer: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Run each test of ``cfgs`` on one checkpoint, write its JSON and heatmap under ``out_dir``;
    returns {test: summary}."""
    tok = load_checkpoint_tokenizer(ckpt, tokenizer)
    engine = load_niah_engine(ckpt, tok)
    results = {}
    for cfg in cfgs:
        cases = run_niah(engine, tok, cfg)
        write_niah(cases, out_dir, cfg.test)
        results[cfg.test] = summary(cases)
    return results


def load_checkpoint_tokenizer(ckpt: str | Path, tokenizer: str | Path | None = None):
    from compass.tokenizer import load_tokenizer
    from compass.tokenizer.locate import tokenizer_for

    return load_tokenizer(tokenizer_for(str(ckpt), tokenizer))


def load_niah_engine(ckpt: str | Path, tok, max_seq_len: int | None = None):
    """An engine over ``ckpt`` (float or quantized); ``max_seq_len`` above the checkpoint's own
    asks a model for lengths it was not trained at (the point of evaluating before the
    long-context stage)."""
    from compass.inference.engine import Engine

    return Engine.from_checkpoint(Path(ckpt), tok, max_batch=32, max_seq_len=max_seq_len)


def write_niah(
    cases: list[Case], out_dir: str | Path, test: str = "needle", plot: bool = True
) -> dict[str, Path]:
    from compass.eval.plots import heatmap
    from compass.utils.io import atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = summary(cases)
    atomic_write_json(out / f"niah_{test}.json", s)
    if not plot:
        return {"json": out / f"niah_{test}.json"}
    title = "Needle in a haystack" if test == "needle" else "Line retrieval"
    png = heatmap(s["grid"], s["lengths"], s["depths"], out / f"niah_{test}.png", title)
    return {"json": out / f"niah_{test}.json", "png": png}
