"""``compass data ...``: each sub-command lives in the package that implements it."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

SUBCOMMANDS = {
    "generate": ("compass.data.synth.cli", "generate the built-in multilingual e-commerce corpus"),
    "curate": ("compass.data.curation.cli", "curate raw documents: LID, filters, quality, dedup"),
    "tokenize": ("compass.data.shards.cli", "tokenise curated data into training shards"),
    "sft": ("compass.sft.data_cli", "generate and select instruction data"),
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "data", "generate, curate and tokenise data", SUBCOMMANDS)
