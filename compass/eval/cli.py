"""``compass eval``: run tasks against checkpoints (built-in suite or task files), write a report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from compass.eval.benchmarks import BENCHMARKS, parse_benchmark_arg
from compass.eval.cli_tools import register_tools
from compass.eval.records import TaskFileError
from compass.eval.tasks import TaskSpec, builtin_suite

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="evaluation suite (built-in held-out tasks, task files, lm-eval)"
    )
    p.add_argument(
        "--model",
        action="append",
        metavar="[LABEL=]CKPT",
        help="a Compass checkpoint (float or quantized); repeat to compare several (required "
        "without a sub-command)",
    )
    p.add_argument("--tokenizer", help="tokenizer dir (default: the checkpoint's own tokenizer/)")
    p.add_argument(
        "--builtin",
        metavar="EVAL_DIR",
        help="the eval/ directory written by `compass data generate`",
    )
    p.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="SPEC.json",
        help="a task spec (JSON with the TaskSpec fields: name, path, kind, field names)",
    )
    p.add_argument(
        "--benchmark",
        action="append",
        default=[],
        metavar="NAME[:LANG]=PATH",
        help="a public benchmark file in its released format; NAME one of "
        f"{', '.join(sorted(BENCHMARKS))} (docs/eval-tasks.md)",
    )
    p.add_argument("--max-tokens", type=int, help="new-token cap for generative tasks")
    p.add_argument("--backend", choices=["compass", "lm-eval"], default="compass")
    p.add_argument("--limit", type=int, help="at most this many items per task")
    p.add_argument("--out", default="eval_out", help="output directory")
    p.set_defaults(func=_run)
    register_tools(p)


def _specs(args: argparse.Namespace) -> list[TaskSpec]:
    specs = builtin_suite(args.builtin) if args.builtin else []
    for path in args.task:
        try:
            specs.append(TaskSpec(**json.loads(Path(path).read_text())))
        except (OSError, json.JSONDecodeError, TypeError) as e:
            raise SystemExit(
                f"{path}: not a valid task spec ({e}); see docs/eval-tasks.md"
            ) from None
    for arg in args.benchmark:
        try:
            specs.append(parse_benchmark_arg(arg))
        except TaskFileError as e:
            raise SystemExit(str(e)) from None
    if args.max_tokens:
        for spec in specs:
            spec.max_tokens = args.max_tokens
    if not specs:
        raise SystemExit(
            "no tasks: pass --builtin EVAL_DIR, --task SPEC.json and/or --benchmark NAME=PATH"
        )
    return specs


def _run(args: argparse.Namespace) -> int:
    from compass.eval.harness import evaluate
    from compass.eval.loading import load_backend
    from compass.eval.report import write_results

    if not args.model:
        raise SystemExit(
            "compass eval: --model CKPT is required (or use a sub-command: niah, throughput, judge)"
        )
    specs = _specs(args)
    results = {}
    for entry in args.model:
        label, _, path = entry.rpartition("=")
        label = label or Path(path).name
        if args.backend == "lm-eval":
            from compass.eval.lm_eval_bridge import run_lm_eval

            scores = run_lm_eval(
                specs, "compass", f"checkpoint={path}", Path(args.out) / "lm_eval", limit=args.limit
            )
            sys.stdout.write(json.dumps({label: scores}, indent=2) + "\n")
            continue
        backend = load_backend(path, args.tokenizer)
        results[label] = evaluate(specs, backend, args.limit)
    if results:
        paths = write_results(results, args.out)
        sys.stdout.write(Path(paths["md"]).read_text())
        log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0
