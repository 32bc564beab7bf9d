"""``compass data tokenize --curated DIR --tokenizer DIR --out DIR``."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from compass.config import ConfigError
from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import hash_path, write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenize", help="tokenise curated data into training shards")
    p.add_argument("--curated", required=True, help="directory of curated parquet files")
    p.add_argument("--tokenizer", required=True, help="tokenizer directory (compass tokenizer)")
    add_recipe_args(p, out_default="runs/shards")
    p.set_defaults(func=run_cli)


def load_tokenizer(path: str | Path):
    from compass.tokenizer import load_tokenizer as _load

    if not Path(path).exists():
        raise ConfigError(f"--tokenizer {path}: no such directory — run `compass tokenizer train`")
    return _load(path)


def run_cli(args: argparse.Namespace) -> int:
    from compass.data.shards.writer import tokenize_curated

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    t0 = time.time()
    tok = load_tokenizer(args.tokenizer)
    out = Path(args.out)
    meta = tokenize_curated(
        args.curated, tok, out, recipe.shards, tokenizer_hash=hash_path(args.tokenizer)
    )
    save_resolved(recipe, out)
    write_manifest(
        out,
        "data.tokenize",
        recipe.to_dict(),
        inputs={"curated": args.curated, "tokenizer": args.tokenizer},
        metrics={"splits": meta["splits"], "counts": meta["counts"]},
        wall_time_s=time.time() - t0,
    )
    log.info("shards written to %s", out)
    return 0
