"""``compass eval niah | throughput | judge``: the long-context, serving-speed and judge checks.

Each writes its figures (JSON, markdown, PNG), the resolved ``config.json`` and a ``manifest.json``
into ``--out``. ``compass eval --model ...`` with no sub-command still runs the task harness.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from compass.utils.io import atomic_write_json
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def register_tools(p: argparse.ArgumentParser) -> None:
    tools = p.add_subparsers(dest="eval_tool", metavar="{niah,throughput,judge}")
    n = tools.add_parser("niah", help="needle-in-a-haystack and line retrieval heatmaps (Fig. 9)")
    n.add_argument("--model", required=True, help="a Compass checkpoint (float or quantized)")
    n.add_argument("--tokenizer", help="tokenizer dir (default: the checkpoint's own)")
    n.add_argument("--lengths", type=_ints, default=[], help="comma list; default 8 up to context")
    n.add_argument("--depths", type=_floats, default=[0, 10, 25, 50, 75, 90, 100])
    n.add_argument("--langs", default="en,zh,id,ms,th,vi,tl,pt", help="comma list")
    n.add_argument("--test", choices=["needle", "lines", "both"], default="both")
    n.add_argument("--max-tokens", type=int, default=12)
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--out", default="eval_out/niah")
    n.set_defaults(func=_niah)

    t = tools.add_parser("throughput", help="output tokens/s and latency over concurrency")
    t.add_argument("--url", default="http://127.0.0.1:8000", help="an OpenAI-compatible server")
    t.add_argument("--served-model", default="", help="model id (default: first in /v1/models)")
    t.add_argument("--api-key", default=os.environ.get("COMPASS_API_KEY", ""))
    t.add_argument("--concurrency", type=_ints, default=[1, 2, 4, 8, 16, 32, 64, 128, 256])
    t.add_argument(
        "--setting",
        choices=["fig15", "fig16"],
        default="fig15",
        help="fig15: 1,200 in / 200 out tokens; fig16: 1,024 in / 256 out",
    )
    t.add_argument("--input-tokens", type=int, help="overrides --setting")
    t.add_argument("--output-tokens", type=int, help="overrides --setting")
    t.add_argument("--rounds", type=int, default=2, help="requests per level = concurrency × N")
    t.add_argument("--tokenizer", help="build prompts from generated prose (else random ids)")
    t.add_argument("--out", default="eval_out/throughput")
    t.set_defaults(func=_throughput)

    j = tools.add_parser("judge", help="grade free-form answers with a judge model")
    j.add_argument("--judge-url", required=True, help="OpenAI-compatible endpoint of the judge")
    j.add_argument("--judge-model", default="")
    j.add_argument("--judge-key", default=os.environ.get("JUDGE_API_KEY", ""))
    j.add_argument(
        "--answers", help="JSONL: question, answer[, reference] (or answers from --model)"
    )
    j.add_argument("--answers-b", help="JSONL aligned with --answers: pairwise A vs B")
    j.add_argument("--questions", help="JSONL: question[, reference]; answered by --model")
    j.add_argument("--model", help="a Compass checkpoint that answers --questions")
    j.add_argument("--max-tokens", type=int, default=256, help="answer length for --model")
    j.add_argument("--workers", type=int, default=4)
    j.add_argument("--out", default="eval_out/judge")
    j.set_defaults(func=_judge)


def _finish(out: Path, stage: str, config: dict, metrics: dict, t0: float, inputs=None) -> None:
    atomic_write_json(out / "config.json", config)
    write_manifest(out, stage, config, inputs, metrics, time.time() - t0)


def _niah(args: argparse.Namespace) -> int:
    from compass.eval.niah import NiahConfig, niah_checkpoint

    t0, out = time.time(), Path(args.out)
    tests = ["needle", "lines"] if args.test == "both" else [args.test]
    cfgs = [
        NiahConfig(
            args.lengths, args.depths, args.langs.split(","), test, args.max_tokens, args.seed
        )
        for test in tests
    ]
    try:
        results = niah_checkpoint(args.model, cfgs, out, args.tokenizer)
    except ValueError as e:
        raise SystemExit(f"compass eval niah: {e}") from None
    metrics = {test: s["accuracy"] for test, s in results.items()}
    for test, s in results.items():
        sys.stdout.write(
            f"{test}: accuracy {s['accuracy']:.3f} over {len(s['cases'])} cases -> "
            f"{out / f'niah_{test}.png'}\n"
        )
    config = {"model": args.model, **{c.test: asdict(c) for c in cfgs}}
    _finish(out, "eval-niah", config, metrics, t0, {"model": args.model})
    return 0


def _throughput(args: argparse.Namespace) -> int:
    from compass.eval.throughput import (
        REPORT_SETTINGS,
        ThroughputConfig,
        markdown,
        run_throughput,
        write_throughput,
    )

    t0 = time.time()
    n_in, n_out = REPORT_SETTINGS[args.setting]
    cfg = ThroughputConfig(
        url=args.url,
        concurrency=args.concurrency,
        input_tokens=args.input_tokens or n_in,
        output_tokens=args.output_tokens or n_out,
        rounds=args.rounds,
        model=args.served_model,
        api_key=args.api_key,
    )
    tok = None
    if args.tokenizer:
        from compass.tokenizer import load_tokenizer

        tok = load_tokenizer(args.tokenizer)
    try:
        rows = run_throughput(cfg, tok)
    except ConnectionError as e:
        raise SystemExit(str(e)) from None
    write_throughput(rows, cfg, args.out)
    sys.stdout.write(markdown(rows, cfg))
    config = {k: v for k, v in asdict(cfg).items() if k != "api_key"}
    best = max((r["output_tokens_per_s"] for r in rows if r["output_tokens"]), default=None)
    _finish(Path(args.out), "eval-throughput", config, {"peak_output_tokens_per_s": best}, t0)
    return 0 if all(r["errors"] == 0 for r in rows) else 1


def _read_jsonl(path: str, need: tuple[str, ...]) -> list[dict]:
    from compass.eval.records import TaskFileError, read_records

    rows = []
    for where, rec in read_records(path):
        for name in need:
            if name not in rec:
                raise TaskFileError(f"{where}: field '{name}' is missing (need {list(need)})")
        rows.append(rec)
    return rows


def _answer_with_model(args: argparse.Namespace, items: list[dict]) -> list[dict]:
    from compass.eval.loading import load_engine
    from compass.inference.params import SamplingParams
    from compass.tokenizer import load_tokenizer
    from compass.tokenizer.locate import tokenizer_for

    ckpt = Path(args.model)
    engine = load_engine(ckpt, load_tokenizer(tokenizer_for(ckpt)), max_batch=4)
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, truncate_prompt=True)
    for it in items:
        done = engine.chat([{"role": "user", "content": it["question"]}], params)
        it["answer"] = done.content if done.content is not None else done.text
    return items


def _judge(args: argparse.Namespace) -> int:
    from compass.eval.judge import JudgeClient, grade, pairwise

    t0, out = time.time(), Path(args.out)
    client = JudgeClient(args.judge_url, args.judge_model, args.judge_key)
    if args.questions:
        if not args.model:
            raise SystemExit("--questions needs --model CKPT to answer them")
        items = _answer_with_model(args, _read_jsonl(args.questions, ("question",)))
    elif args.answers:
        items = _read_jsonl(args.answers, ("question", "answer"))
    else:
        raise SystemExit("give --answers FILE (or --questions FILE --model CKPT)")
    if args.answers_b:
        other = _read_jsonl(args.answers_b, ("question", "answer"))
        if len(other) != len(items):
            raise SystemExit(f"--answers has {len(items)} items, --answers-b {len(other)}")
        pairs = [
            {"question": a["question"], "answer_a": a["answer"], "answer_b": b["answer"]}
            for a, b in zip(items, other)
        ]
        report = pairwise(pairs, client, args.workers)
    else:
        report = grade(items, client, args.workers)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "judge.json", report.to_dict())
    summary = {k: report.to_dict()[k] for k in ("n", "graded", "skipped", "metrics")}
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    config = {k: v for k, v in vars(args).items() if k not in ("func", "judge_key", "overrides")}
    _finish(out, "eval-judge", config, summary, t0)
    return 0 if report.graded else 1
