"""``compass data ...``: each sub-command lives in the package that implements it."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

# sub-command -> the module whose register(subparsers) adds it
SUBCOMMANDS = {
    "generate": "compass.data.synth.cli",
    "curate": "compass.data.curation.cli",
    "tokenize": "compass.data.shards.cli",
    "tasks": "compass.data.synth.tasks.cli",
    "sft": "compass.posttrain.sft.data_cli",
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "data", "generate, curate and tokenise data", SUBCOMMANDS)
