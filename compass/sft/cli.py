"""``compass sft --stage 1|2 --init CKPT --data DIR --tokenizer DIR --out DIR [--eval]``.

Stage 1 starts from the last pretraining checkpoint, stage 2 from stage 1's run dir. ``--eval``
after training runs the deep-vs-fast arithmetic evaluation on ``DIR/eval/cart_arithmetic.jsonl``
and writes ``reasoning_eval.md`` into the output directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sft", help="supervised fine-tuning: stage 1 general, stage 2 reasoning")
    p.add_argument("--stage", type=int, choices=(1, 2), default=1)
    p.add_argument("--init", required=True, help="checkpoint or run dir to start from")
    p.add_argument("--data", required=True, help="directory from `compass data sft`")
    p.add_argument("--tokenizer", required=True, help="tokenizer directory")
    p.add_argument("--eval", action="store_true", help="deep-vs-fast arithmetic eval afterwards")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.config import ConfigError
    from compass.sft.run import run_sft

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    if not (Path(args.data) / "train.jsonl").exists():
        log.error(
            "--data %s: no train.jsonl; run `compass data sft --out %s`", args.data, args.data
        )
        return 2
    out = Path(args.out or f"runs/{recipe.name}/sft{args.stage}")
    t0 = time.time()
    try:
        result, info = run_sft(recipe, args.stage, args.data, args.tokenizer, out, args.init)
    except (ConfigError, FileNotFoundError) as e:
        log.error("%s", e)
        return 2
    metrics = {"step": result.step, "tokens_per_s": round(result.tokens_per_s, 1), **info,
               **{k: round(v, 5) for k, v in result.eval.items()}}  # fmt: skip
    if args.eval:
        metrics["reasoning"] = evaluate_dir(out, Path(args.data), recipe.sft.eval_max_tokens)
    save_resolved(recipe, out)
    inputs = {"init": args.init, "data": args.data, "tokenizer": args.tokenizer}
    write_manifest(out, f"sft.stage{args.stage}", recipe.to_dict(), inputs, metrics,
                   time.time() - t0)  # fmt: skip
    sys.stdout.write(json.dumps({"step": result.step, **result.eval}) + "\n")
    return 0


def evaluate_dir(ckpt: Path, data: Path, max_tokens: int) -> dict:
    """Deep-vs-fast accuracy of the model in ``ckpt`` on ``data/eval/cart_arithmetic.jsonl``."""
    from compass.inference.engine import Engine
    from compass.sft.reasoning_eval import evaluate_modes, write_table
    from compass.tokenizer import load_tokenizer

    items = [json.loads(x) for x in (data / "eval" / "cart_arithmetic.jsonl").open()]
    engine = Engine.from_checkpoint(ckpt, load_tokenizer(ckpt / "tokenizer"), max_batch=64)
    modes = evaluate_modes(engine, items, max_tokens)
    sys.stdout.write(write_table({"modes": modes}, ckpt))
    return {k: v for k, v in modes.items() if not k.startswith("_")}
