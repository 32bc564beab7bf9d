"""``compass dpo --policy CKPT --reward RM_DIR --prompts FILE [--heldout FILE] --out DIR``.

Runs ``dpo.rounds`` rounds of online DPO from the policy (normally the SFT stage-2 checkpoint)
with the reward model of ``compass reward`` on the prompt files (JSONL/Parquet rows with
``prompt``, optional ``answer``, ``lang``, ``enable_thinking``); writes the final policy to
``OUT/ckpt`` and the before/after comparison on held-out prompts to ``OUT/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import sys

from compass.posttrain.cli_common import run_stage_cli
from compass.utils.cli import add_recipe_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dpo", help="online DPO on your prompts")
    p.add_argument("--policy", required=True, help="starting policy (and frozen reference)")
    p.add_argument("--reward", required=True, help="reward model dir (`compass reward` output)")
    p.add_argument("--prompts", action="append", default=[], help="prompt file or dir (repeat)")
    p.add_argument("--heldout", action="append", default=[], help="held-out prompt file (repeat)")
    p.add_argument("--tokenizer", default=None, help="tokenizer dir (default: POLICY/tokenizer)")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    def prepare(recipe) -> None:
        recipe.dpo.prompts = list(recipe.dpo.prompts) + list(args.prompts)
        recipe.dpo.heldout = list(recipe.dpo.heldout) + list(args.heldout)

    def run(recipe, out):
        from compass.posttrain.dpo.run import run_dpo, summary

        metrics = run_dpo(recipe.dpo, args.policy, args.reward, out, args.tokenizer)
        sys.stdout.write(json.dumps(summary(metrics), indent=2) + "\n")
        inputs = {"policy": args.policy, "reward": args.reward, "prompts": recipe.dpo.prompts}
        return metrics, inputs

    return run_stage_cli(args, "dpo", prepare, run)
