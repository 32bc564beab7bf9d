"""``compass sft --stage 1|2 --init CKPT --data DATA --tokenizer DIR --out DIR [--eval FILE]``.

``DATA`` is a ``compass data sft`` directory (its selected ``train.jsonl``) or instruction files
in any accepted format (read as they are, without selection). Stage 1 starts from the last
pretraining checkpoint, stage 2 from stage 1's run dir. ``--eval FILE`` (prompts with an
``answer`` and ``lang``) after training runs the deep-vs-fast evaluation and writes
``reasoning_eval.md`` into the output directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from compass.posttrain.cli_common import run_stage_cli
from compass.utils.cli import add_recipe_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sft", help="supervised fine-tuning: stage 1 general, stage 2 reasoning")
    p.add_argument("--stage", type=int, choices=(1, 2), default=1)
    p.add_argument("--init", required=True, help="checkpoint or run dir to start from")
    p.add_argument(
        "--data",
        required=True,
        action="append",
        help="`compass data sft` dir, or instruction files/dirs (repeat)",
    )
    p.add_argument("--tokenizer", required=True, help="tokenizer directory")
    p.add_argument("--eval", default=None, help="prompts with answers: deep-vs-fast afterwards")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    def run(recipe, out):
        from compass.posttrain.sft.run import run_sft

        result, info = run_sft(recipe, args.stage, args.data, args.tokenizer, out, args.init)
        metrics = {
            "step": result.step,
            "tokens_per_s": round(result.tokens_per_s, 1),
            **info,
            **{k: round(v, 5) for k, v in result.eval.items()},
        }
        if args.eval:
            metrics["reasoning"] = evaluate_file(out, Path(args.eval), recipe.sft.eval_max_tokens)
        sys.stdout.write(json.dumps(metrics, ensure_ascii=False) + "\n")
        return metrics, {"init": args.init, "data": args.data, "tokenizer": args.tokenizer}

    return run_stage_cli(args, f"sft{args.stage}", lambda recipe: None, run)


def evaluate_file(ckpt: Path, path: Path, max_tokens: int) -> dict:
    """Deep-vs-fast accuracy of the model in ``ckpt`` on the prompts of ``path``."""
    from compass.inference.engine import Engine
    from compass.posttrain.answers import has_verifiable_answer
    from compass.posttrain.formats import read_prompts
    from compass.posttrain.sft.reasoning_eval import evaluate_modes, write_table
    from compass.tokenizer import load_tokenizer

    items = [p for p in read_prompts([path])[0] if has_verifiable_answer(p)]
    engine = Engine.from_checkpoint(ckpt, load_tokenizer(ckpt / "tokenizer"), max_batch=64)
    modes = evaluate_modes(engine, items, max_tokens)
    sys.stdout.write(write_table({"modes": modes}, ckpt))
    return {k: v for k, v in modes.items() if not k.startswith("_")}
