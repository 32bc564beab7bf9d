"""``compass export hf|gguf``."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

# sub-command -> the module whose register(subparsers) adds it
SUBCOMMANDS = {
    "hf": "compass.export.hf_cli",
    "gguf": "compass.export.gguf_cli",
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "export", "export a checkpoint (Hugging Face, GGUF)", SUBCOMMANDS)
