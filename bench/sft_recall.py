"""Does an SFT model answer the e-commerce items it was trained on? Greedy fast-mode replies to
training prompts, per task, against the trained reply (exact match after trimming).

A model that cannot reproduce answers it saw in training (an attribute copied from the product
title, an option's text after its letter) cannot be expected to answer held-out items; a model
that reproduces them but fails held-out items has memorised rather than learned the task.

    python bench/sft_recall.py --run runs/tiny --stage sft1 [--stage sft2] [--per-task 40]

reads ``RUN/sft_data/train.jsonl`` (the samples the stages trained on) and prints one row per
task and form (bare answer / lettered options) with the match rate per checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from compass.inference.engine import Engine
from compass.posttrain.sft.reasoning_eval import generate_replies
from compass.tokenizer import load_tokenizer


def training_items(path: Path, per_task: int) -> dict[tuple[str, str], list[dict]]:
    """(task, form) -> the first ``per_task`` single-turn e-commerce samples of that kind."""
    items: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in path.open(encoding="utf-8"):
        s = json.loads(line)
        msgs = s["messages"]
        if s.get("category") != "ecommerce" or len(msgs) != 2:
            continue
        form = "letters" if "\nA. " in msgs[0]["content"] else "answer"
        key = (s.get("task", "?"), form)
        if len(items[key]) < per_task:
            items[key].append(s)
    return dict(sorted(items.items()))


def match_rates(ckpt: Path, items: dict[tuple[str, str], list[dict]]) -> dict:
    engine = Engine.from_checkpoint(ckpt, load_tokenizer(ckpt / "tokenizer"), max_batch=64)
    flat = [s for ss in items.values() for s in ss]
    outs = generate_replies(engine, [[s["messages"][0]] for s in flat], False, 24)
    got = iter(outs)
    rates = {}
    for key, ss in items.items():
        hits = [next(got)[1].strip() == s["messages"][1]["content"].strip() for s in ss]
        rates[key] = sum(hits) / len(hits)
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, type=Path)
    ap.add_argument("--stage", action="append", required=True, help="sft1, sft2, dpo, ...")
    ap.add_argument("--per-task", type=int, default=40)
    args = ap.parse_args()
    items = training_items(args.run / "sft_data" / "train.jsonl", args.per_task)
    cols = {st: match_rates(args.run / st / "ckpt", items) for st in args.stage}
    lines = ["| task | form | n | " + " | ".join(args.stage) + " |"]
    lines.append("|---" * (3 + len(args.stage)) + "|")
    for (task, form), ss in items.items():
        cells = " | ".join(f"{cols[st][(task, form)]:.2f}" for st in args.stage)
        lines.append(f"| {task} | {form} | {len(ss)} | {cells} |")
    mean = {st: sum(cols[st].values()) / len(cols[st]) for st in args.stage}
    lines.append("| mean | | | " + " | ".join(f"{mean[st]:.2f}" for st in args.stage) + " |")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
