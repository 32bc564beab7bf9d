"""``compass tokenizer eval --tokenizer DIR --data DIR --baseline NAME=PATH[#PATTERN]
--out DIR``."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.io import atomic_write_json, atomic_write_text
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="compression per language vs baseline tokenizers",
        description="Tokens per 1,000 UTF-8 bytes (lower is better), bytes per token and "
        "vocabulary usage per language. Baselines: NAME=PATH to a tokenizer.json, "
        "a SentencePiece .model, a Compass tokenizer dir, "
        "or NAME=PATH#PATTERN for a tiktoken-format file "
        "(PATTERN: llama3, cl100k, o200k, qwen).",
    )
    p.add_argument("--tokenizer", required=False, help="our tokenizer directory")
    p.add_argument("--data", nargs="+", default=[], help="held-out text: DIR or lang=PATH ...")
    p.add_argument("--baseline", nargs="*", default=[], help="NAME=PATH[#PATTERN] ...")
    p.add_argument("--max-bytes-per-lang", type=int, default=5_000_000)
    p.add_argument("--threads", type=int, default=2)
    add_recipe_args(p, out_default="runs/tokenizer_eval")
    p.set_defaults(func=run)


def _texts_by_lang(data: list[str], max_bytes: int) -> dict[str, list[str]]:
    from compass.tokenizer.corpus import ReadReport, iter_documents, parse_sources

    out: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    report = ReadReport()
    for lang, text in iter_documents(parse_sources(data), report):
        if size.get(lang, 0) >= max_bytes:
            continue
        out.setdefault(lang, []).append(text)
        size[lang] = size.get(lang, 0) + len(text.encode("utf-8"))
    return dict(sorted(out.items()))


def run(args: argparse.Namespace) -> int:
    from compass.tokenizer.compression import (
        compression_table,
        format_table,
        load_encoder,
        plot_compression,
    )

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    if not args.tokenizer or not args.data:
        log.error("compass tokenizer eval: --tokenizer and --data are required")
        return 2
    t0 = time.time()
    encoders = [load_encoder(f"compass={args.tokenizer}", args.threads)]
    encoders += [load_encoder(b, args.threads) for b in args.baseline]
    texts = _texts_by_lang(args.data, args.max_bytes_per_lang)
    if not texts:
        log.error("compass tokenizer eval: no text in --data %s", " ".join(args.data))
        return 2
    table = compression_table(encoders, texts)
    md = "## Tokens per 1,000 UTF-8 bytes (lower is better)\n\n" + format_table(table)
    md += "\n\n## Vocabulary usage per language (share of the vocab seen)\n\n"
    md += format_table(
        {n: {k: {"u": 100 * v["vocab_usage"]} for k, v in t.items()} for n, t in table.items()}, "u"
    )
    save_resolved(recipe, args.out)
    atomic_write_json(f"{args.out}/compression.json", table)
    atomic_write_text(f"{args.out}/compression.md", md + "\n")
    plot_compression(table, f"{args.out}/compression.png")
    sys.stdout.write(md + "\n")
    inputs = {"tokenizer": args.tokenizer}
    write_manifest(
        args.out, "tokenizer_eval", recipe.to_dict(), inputs, {"table": table}, time.time() - t0
    )
    log.info("wrote %s/compression.{md,json,png}", args.out)
    return 0
