"""``compass reward --policy CKPT --input PAIRS [--heldout PAIRS] [--bon PROMPTS] --out DIR``.

Trains ``reward.runs`` reward models on the policy's checkpoint from preference files (TRL rows:
``prompt``/``chosen``/``rejected``, or chosen/rejected conversations), averages them into
``OUT/soup``, and reports pairwise accuracy on held-out pairs and, with verifiable prompts
(``--bon``: rows with ``prompt`` and ``answer``), Best-of-N accuracy vs N (``metrics.json``).
``--verifier`` adds verified chat samples for the verifier warm-up.
"""

from __future__ import annotations

import argparse
import json
import sys

from compass.posttrain.cli_common import run_stage_cli
from compass.utils.cli import add_recipe_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reward", help="reward models on your preference pairs, soup, Best-of-N")
    p.add_argument("--policy", required=True, help="checkpoint the reward models start from")
    p.add_argument("--input", action="append", default=[], help="preference file or dir (repeat)")
    p.add_argument("--heldout", action="append", default=[], help="held-out preference file")
    p.add_argument("--bon", action="append", default=[], help="prompts with answers (Best-of-N)")
    p.add_argument("--verifier", action="append", default=[], help="verified chat samples")
    p.add_argument("--tokenizer", default=None, help="tokenizer dir (default: POLICY/tokenizer)")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    def prepare(recipe) -> None:
        r = recipe.reward
        r.inputs, r.heldout = [*r.inputs, *args.input], [*r.heldout, *args.heldout]
        r.bon_prompts = [*r.bon_prompts, *args.bon]
        r.verifier_inputs = [*r.verifier_inputs, *args.verifier]

    def run(recipe, out):
        from compass.posttrain.reward.run import summary, train_reward

        metrics = train_reward(recipe.reward, args.policy, out, args.tokenizer)
        sys.stdout.write(json.dumps(summary(metrics), indent=2) + "\n")
        return metrics, {"policy": args.policy, "inputs": recipe.reward.inputs}

    return run_stage_cli(args, "reward", prepare, run)
