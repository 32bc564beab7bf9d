"""``compass tokenizer ...``: train (with sub-tokenizer merging) and evaluate compression."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

# sub-command -> the module whose register(subparsers) adds it
SUBCOMMANDS = {
    "train": "compass.tokenizer.train_cli",
    "eval": "compass.tokenizer.eval_cli",
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "tokenizer", "train, export and evaluate the SEA tokenizer", SUBCOMMANDS)
