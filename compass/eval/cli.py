"""``compass eval``: run tasks against models — Compass checkpoints, Hugging Face directories,
OpenAI-compatible endpoints — side by side (built-in suite, task files, release formats, a suite
file), and write one report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from compass.eval.backend import ModelLoadError
from compass.eval.benchmarks import BENCHMARKS, parse_benchmark_arg
from compass.eval.cli_tools import register_tools
from compass.eval.forms import parse_forms
from compass.eval.loading import KINDS, ModelRef, parse_model
from compass.eval.records import TaskFileError
from compass.eval.suite import Suite, load_suite, read_spec_file
from compass.eval.tasks import TaskSpec, builtin_suite

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="evaluation suite (built-in held-out tasks, task files, lm-eval)"
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="[LABEL=]TARGET",
        help="a Compass checkpoint (float or quantized), hf:DIR (a transformers causal LM) or "
        "openai:BASE_URL[#MODEL] (openai-chat: generates through chat); repeat to compare "
        "several in one table",
    )
    p.add_argument(
        "--tokenizer",
        help="tokenizer dir for Compass checkpoints (default: the checkpoint's own) and openai: "
        "models (sends token ids, so scores match lm-eval exactly)",
    )
    p.add_argument(
        "--suite",
        metavar="SUITE.yaml",
        help="models and tasks of a comparison (docs/eval-tasks.md)",
    )
    p.add_argument("--batch-size", type=int, help="log-likelihood batch (default 16)")
    p.add_argument(
        "--concurrency", type=int, help="requests in flight per openai: model (default 4)"
    )
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding openai: models' API key",
    )
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
    p.add_argument(
        "--form",
        metavar="FORM[,FORM...]",
        help="how items are put to each model, one column per model and form: raw (plain text, "
        "the default), chat (the chat template, fast mode), letters (chat with lettered options), "
        "deep (generative tasks in deep mode); docs/eval-forms.md",
    )
    p.add_argument("--max-tokens", type=int, help="new-token cap for generative tasks")
    p.add_argument("--backend", choices=["compass", "lm-eval"], default="compass")
    p.add_argument("--limit", type=int, help="at most this many items per task")
    p.add_argument(
        "--items-per-lang",
        type=int,
        help="the first N items of each language of each task (a smaller run that still covers "
        "every language, unlike --limit)",
    )
    p.add_argument("--out", help="output directory (default eval_out)")
    p.set_defaults(func=_run)
    register_tools(p)


def _specs(args: argparse.Namespace, suite: Suite) -> list[TaskSpec]:
    specs = list(suite.specs)
    specs += builtin_suite(args.builtin) if args.builtin else []
    specs += [read_spec_file(path) for path in args.task]
    specs += [parse_benchmark_arg(arg) for arg in args.benchmark]
    max_tokens = args.max_tokens or suite.settings.get("max_tokens")
    per_lang = args.items_per_lang or suite.settings.get("items_per_lang")
    for spec in specs:
        spec.max_tokens = int(max_tokens) if max_tokens else spec.max_tokens
        spec.items_per_lang = int(per_lang) if per_lang else spec.items_per_lang
    if not specs:
        raise SystemExit(
            "no tasks: pass --builtin EVAL_DIR, --task SPEC.json, --benchmark NAME=PATH and/or "
            "--suite SUITE.yaml"
        )
    return specs


def _run(args: argparse.Namespace) -> int:
    try:
        suite = load_suite(args.suite) if args.suite else Suite()
        given = [parse_model(m, args.tokenizer) for m in args.model]
        for ref in given:
            ref.api_key_env = args.api_key_env
        refs = suite.models + given
        if not refs:
            raise SystemExit(
                "compass eval: --model TARGET (or a --suite with models) is required, or use a "
                "sub-command: niah, throughput, judge"
            )
        specs = _specs(args, suite)
        setting = suite.settings.get
        try:
            forms = parse_forms(args.form or setting("form") or "raw")
        except ValueError as e:
            raise SystemExit(f"compass eval: --form: {e}") from None
        out = args.out or setting("out") or "eval_out"
        limit = args.limit or setting("limit")
        if args.backend == "lm-eval":
            if forms != ["raw"]:
                raise SystemExit(
                    "compass eval: --backend lm-eval scores the raw form; score the other forms "
                    "with the default backend"
                )
            return _lm_eval(refs, specs, out, limit)
        from compass.eval.compare import run_models

        comp = run_models(
            refs,
            specs,
            out,
            limit,
            batch_size=args.batch_size or setting("batch_size") or 16,
            concurrency=args.concurrency or setting("concurrency") or 4,
            forms=forms,
        )
    except (TaskFileError, ModelLoadError) as e:
        raise SystemExit(f"compass eval: {e}") from None
    if "md" in comp.paths:
        sys.stdout.write(Path(comp.paths["md"]).read_text())
        log.info("wrote %s", ", ".join(str(p) for p in comp.paths.values()))
    for label, why in comp.failures.items():
        sys.stderr.write(f"compass eval: model '{label}' failed: {why}\n")
    return 1 if comp.failures else 0


def _lm_eval(refs: list[ModelRef], specs: list[TaskSpec], out: str, limit: int | None) -> int:
    from compass.eval.lm_eval_bridge import run_lm_eval

    for ref in refs:
        if ref.target.startswith(KINDS):
            raise SystemExit(
                f"compass eval: --backend lm-eval runs Compass checkpoints, not '{ref.target}'; "
                "score hf: and openai: models with the default backend"
            )
        scores = run_lm_eval(
            specs, "compass", f"checkpoint={ref.target}", Path(out) / "lm_eval", limit=limit
        )
        sys.stdout.write(json.dumps({ref.label: scores}, indent=2) + "\n")
    return 0
