"""Time of the eval stage's multiple-choice scoring: prefix-shared (``Scorer.score_batch``) vs
the baseline, one full forward per (context, choice) sequence with the log-softmax at every
position (the scorer before it shared contexts), measured in the same run on the same requests.

The requests are the built-in suite's option tasks in the raw, chat and lettered forms, as
``compass run``'s eval step builds them, against a checkpoint of a finished run; the scores of the
two paths are compared (largest log-likelihood difference, greedy flags that differ).

    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_scoring.py --run runs/tiny
    .venv/bin/python bench/eval_scoring.py --run runs/tiny --tasks 3 --forms letters
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from machine import describe

from compass.eval.backend import encode_pair
from compass.eval.chat import reply_pair
from compass.eval.harness import _mc_requests
from compass.eval.loading import load_backend
from compass.eval.tasks import builtin_suite, load_fewshot, load_items
from compass.model.io import resolve_checkpoint


def baseline(runner, pairs, batch_size):
    """One full forward per pair, sorted by length (the previous ``Scorer.score_batch``)."""
    results = [(0.0, False)] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        seqs = [list(pairs[i][0]) + list(pairs[i][1]) for i in chunk]
        for i, lp_TV in zip(chunk, runner.full_logprobs(seqs)):
            n, cont = len(pairs[i][0]), list(pairs[i][1])
            lp_CV = lp_TV[n - 1 : n - 1 + len(cont)]
            picked = lp_CV.gather(-1, lp_CV.new_tensor(cont).long()[:, None])
            results[i] = (float(picked.sum()), lp_CV.argmax(-1).tolist() == cont)
    return results


def id_pairs(backend, specs, form):
    """(context ids, continuation ids) of every option request of ``specs`` in ``form``."""
    from compass.eval.chat import chat_prompt

    pairs = []
    for spec in specs:
        requests, _, _ = _mc_requests(spec, load_items(spec), load_fewshot(spec), form)
        for ctx, cont in requests:
            if form == "raw":
                pairs.append(encode_pair(backend.tokenizer, ctx, cont))
            else:
                prompt = chat_prompt(backend.tokenizer, ctx, enable_thinking=False)
                pairs.append(reply_pair(backend.tokenizer, prompt, cont))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="runs/tiny", help="a finished `compass run` directory")
    ap.add_argument("--ckpt", default="sft2/ckpt")
    ap.add_argument("--forms", default="raw,chat,letters")
    ap.add_argument("--tasks", type=int, default=0, help="first N option tasks (0: all)")
    ap.add_argument("--items-per-lang", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "1")))
    run = Path(args.run)
    specs = [s for s in builtin_suite(run / "generate" / "eval") if s.kind == "mc"]
    specs = specs[: args.tasks] if args.tasks else specs
    for s in specs:
        s.items_per_lang = args.items_per_lang
    backend = load_backend(resolve_checkpoint(run / args.ckpt), batch_size=args.batch_size)
    engine = backend.engine
    print(describe())
    print(f"{len(specs)} option tasks, {args.items_per_lang} items per language, {args.ckpt}")
    total = {"baseline": 0.0, "shared": 0.0}
    for form in args.forms.split(","):
        pairs = id_pairs(backend, specs, form)
        t = time.perf_counter()
        want = baseline(engine.runner, pairs, args.batch_size)
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        got = engine.score_batch(pairs, args.batch_size)
        t_new = time.perf_counter() - t
        diff = max(abs(a[0] - b[0]) for a, b in zip(want, got))
        flips = sum(a[1] != b[1] for a, b in zip(want, got))
        total["baseline"] += t_base
        total["shared"] += t_new
        print(
            f"{form:8s} {len(pairs):5d} requests  baseline {t_base:6.2f}s  shared {t_new:6.2f}s"
            f"  ratio {t_new / t_base:.3f}  max |dll| {diff:.2e}  greedy flips {flips}"
        )
    print(f"all forms: shared / baseline = {total['shared'] / total['baseline']:.3f}")


if __name__ == "__main__":
    main()
