"""``compass tokenizer ...``: train (with sub-tokenizer merging) and evaluate compression."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

SUBCOMMANDS = {
    "train": ("compass.tokenizer.train_cli", "train the SEA tokenizer and export it for HF"),
    "eval": ("compass.tokenizer.eval_cli", "compression per language vs baseline tokenizers"),
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "tokenizer", "train, export and evaluate the SEA tokenizer", SUBCOMMANDS)
