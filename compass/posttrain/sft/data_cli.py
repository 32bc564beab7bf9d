"""``compass data sft --input FILE [--input ...] [--exclude EVAL.jsonl] --out DIR``.

Reads instruction data (OpenAI/TRL ``messages``, ShareGPT ``conversations``, Alpaca
``instruction``/``input``/``output``; JSONL, JSONL.gz/zst, Parquet, directories), checks every
sample, fills missing languages, selects, and writes ``train.jsonl`` and ``report.json`` (see
``compass.posttrain.sft.data``). The generated world's samples come from ``compass data tasks``.
"""

from __future__ import annotations

import argparse
import json
import sys

from compass.posttrain.cli_common import run_stage_cli
from compass.utils.cli import add_recipe_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sft", help="read, check and select SFT instruction data")
    p.add_argument("--input", action="append", default=[], help="instruction file or dir (repeat)")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        help="held-out file whose prompts must not be trained on (repeat)",
    )
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    def prepare(recipe) -> None:
        d = recipe.sft.data
        d.inputs, d.exclude = [*d.inputs, *args.input], [*d.exclude, *args.exclude]

    def run(recipe, out):
        from compass.posttrain.sft.data import build_sft_data, summary

        report = build_sft_data(recipe.sft, out)
        sys.stdout.write(json.dumps(summary(report), ensure_ascii=False) + "\n")
        return report, {"inputs": recipe.sft.data.inputs}

    return run_stage_cli(args, "sft_data", prepare, run)
