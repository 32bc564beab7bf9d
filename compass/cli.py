"""``compass``: one subcommand per pipeline stage.

Each stage lives in its own package and exposes ``register(subparsers)`` in ``compass/<stage>/cli.py``;
this file only knows the stage names, so adding a stage never touches another one's code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from compass.config import ConfigError
from compass.utils.logging import setup_logging

# name -> (module with register(), one-line help, issue that builds it)
STAGES: dict[str, tuple[str, str, int]] = {
    "data": ("compass.data.cli", "generate, curate and tokenise data", 4),
    "tokenizer": ("compass.tokenizer.cli", "train, export and evaluate the SEA tokenizer", 3),
    "model": ("compass.model.cli", "inspect a model recipe (parameter counts)", 2),
    "pretrain": ("compass.pretrain.cli", "pretraining: main, anneal, long-context", 5),
    "sft": ("compass.sft.cli", "supervised fine-tuning (two stages, hybrid reasoning)", 6),
    "reward": ("compass.reward.cli", "reward models, weight averaging, Best-of-N", 7),
    "dpo": ("compass.dpo.cli", "online DPO", 7),
    "quantize": ("compass.quant.cli", "FP8 / AWQ-INT4 weight quantization", 8),
    "export": ("compass.export.cli", "export a checkpoint (Hugging Face, GGUF)", 2),
    "import": ("compass.export.import_cli", "import a Hugging Face Qwen2-MoE checkpoint", 2),
    "serve": ("compass.serve.cli", "OpenAI-compatible API and web portal", 9),
    "chat": ("compass.inference.cli", "interactive terminal chat", 8),
    "eval": ("compass.eval.cli", "evaluation suite", 10),
    "run": ("compass.pipeline.cli", "the whole pipeline in one command", 11),
}


def _not_built(name: str, issue: int):
    def run(args: argparse.Namespace) -> int:
        logging.getLogger("compass").error(
            "stage '%s' is not built yet (tracked in issue #%d); nothing was run", name, issue
        )
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compass",
        description="Compass: raw documents to a served, quantized, evaluated MoE chat model.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE")
    for name, (module, help_, issue) in STAGES.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name is None or not module.startswith(e.name):
                raise
            p = sub.add_parser(name, help=f"{help_} [not built yet]")
            p.set_defaults(func=_not_built(name, issue))
            continue
        mod.register(sub)
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
