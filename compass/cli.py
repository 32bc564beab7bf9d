"""``compass``: one subcommand per pipeline stage.

Each stage lives in its own package and exposes ``register(subparsers)`` in
``compass/<stage>/cli.py``; this file only knows the stage names, so adding a stage never touches
another one's code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from compass.config import ConfigError
from compass.utils.logging import setup_logging

# name -> the module whose register(subparsers) adds the stage's command
STAGES: dict[str, str] = {
    "data": "compass.data.cli",
    "tokenizer": "compass.tokenizer.cli",
    "model": "compass.model.cli",
    "pretrain": "compass.pretrain.cli",
    "sft": "compass.posttrain.sft.cli",
    "reward": "compass.posttrain.reward.cli",
    "dpo": "compass.posttrain.dpo.cli",
    "quantize": "compass.quant.cli",
    "export": "compass.export.cli",
    "import": "compass.export.import_cli",
    "serve": "compass.serve.cli",
    "chat": "compass.inference.cli",
    "eval": "compass.eval.cli",
    "run": "compass.pipeline.cli",
    "plan": "compass.plan.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compass",
        description="Compass: raw documents to a served, quantized, evaluated MoE chat model.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE")
    for module in STAGES.values():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    args.overrides = extra
    if extra and not getattr(args, "accepts_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        logging.getLogger("compass").error("%s", e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
