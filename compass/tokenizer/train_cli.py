"""``compass tokenizer train --recipe tiny --data DIR --out DIR``."""

from __future__ import annotations

import argparse
import logging
import time

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the SEA tokenizer (merged sub-tokenizers) and export it for HF",
        description="Inputs: a directory of *.jsonl (text, lang) or *.parquet (text, lang), or "
        "lang=path pairs of plain text / JSONL / parquet.",
    )
    p.add_argument("--data", nargs="+", required=False, default=[], help="DIR or lang=PATH ...")
    p.add_argument(
        "--groups",
        default=None,
        help="sub-tokenizers 'LANG+LANG:SIZE;...' (overrides tokenizer.groups)",
    )
    add_recipe_args(p, out_default="runs/tokenizer")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compass.tokenizer.build import train_tokenizer

    recipe = resolve_recipe(args)
    if args.groups is not None:
        recipe.apply_overrides({"tokenizer.groups": args.groups})
    if args.dry_run:
        return dry_run(recipe)
    if not args.data:
        log.error("compass tokenizer train: --data is required (a data directory or lang=path)")
        return 2
    t0 = time.time()
    cfg = recipe.tokenizer
    if cfg.vocab_size != recipe.model.vocab_size:
        log.warning(
            "tokenizer.vocab_size %d != model.vocab_size %d: the model will not fit this tokenizer",
            cfg.vocab_size,
            recipe.model.vocab_size,
        )
    metrics = train_tokenizer(cfg, args.data, args.out, recipe.model.max_seq_len)
    save_resolved(recipe, args.out)
    inputs = {f"data{i}": d.partition("=")[2] or d for i, d in enumerate(args.data)}
    write_manifest(args.out, "tokenizer", recipe.to_dict(), inputs, metrics, time.time() - t0)
    log.info(
        "tokenizer: %d pieces written to %s in %.1fs (merge: %s)",
        metrics["vocab_size"],
        args.out,
        time.time() - t0,
        metrics["merge"],
    )
    return 0
