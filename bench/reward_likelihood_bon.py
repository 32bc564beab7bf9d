"""Best-of-N by likelihood alone: does the verifier warm-up's LM rank the policy's chains better
than the policy's own LM? (docs/reward-model.md)

Samples the reward stage's Best-of-N set from the policy (same prompts, seed and settings as
``compass reward``), then picks among N samples by the mean log-probability of the reply (the
tokens after ``<think>``, as the reward model's likelihood term) under each LM, and by the soup.
Baseline: the policy's own LM. Prints accuracy at each N and the ratio to the baseline.

    .venv/bin/python bench/reward_likelihood_bon.py --run runs/tiny
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from compass.inference.engine import Engine
from compass.model.io import load_model, resolve_checkpoint
from compass.posttrain.answers import check_answer
from compass.posttrain.batching import pad_rows
from compass.posttrain.formats import read_prompts
from compass.posttrain.reward.bon import best_of_n, pass_at_n
from compass.posttrain.reward.io import load_reward_model
from compass.posttrain.reward.model import reasoning_logprob
from compass.posttrain.sampling import sample_n
from compass.posttrain.scoring import score_sequences
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer


@torch.no_grad()
def reply_logprobs(model, tok, seqs: list[list[int]], batch: int = 64) -> list[float]:
    out: list[float] = []
    for k in range(0, len(seqs), batch):
        ids, mask = pad_rows(seqs[k : k + batch], tok.pad_id)
        logits = model(ids, attention_mask_BT=mask).logits_BTV
        lp, _ = reasoning_logprob(logits, ids, mask, tok.think_start_id, tok.think_end_id)
        out += lp.tolist()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="runs/tiny", help="a `compass run` directory")
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--seed", type=int, default=None, help="sample seed (default: the recipe's)")
    args = ap.parse_args()
    run = Path(args.run)
    cfg = get_recipe(args.recipe).reward
    torch.manual_seed(0)
    tok = load_tokenizer(run / "tokenizer")
    policy = load_model(resolve_checkpoint(run / "sft2" / "ckpt")).eval()
    verifier_dir = run / "reward" / "verifier"
    if not verifier_dir.exists():
        sys.exit(f"{verifier_dir}: no verifier warm-up — run `compass run --recipe {args.recipe}`")
    verifier = load_model(resolve_checkpoint(verifier_dir)).eval()
    soup = load_reward_model(run / "reward")
    items = read_prompts([run / "tasks" / "prompts" / "bon.jsonl"])[0]
    n = max(cfg.bon_n)
    seed = cfg.seed if args.seed is None else args.seed
    samples = sample_n(
        Engine(policy, tok, max_batch=64),
        tok,
        [it["prompt"] for it in items],
        n,
        cfg.bon_temperature,
        cfg.bon_max_tokens,
        seed,
        cfg.bon_thinking,
    )
    correct = [[check_answer(s.text, it) for s in ss] for it, ss in zip(items, samples)]
    seqs = [s.sequence for ss in samples for s in ss]
    scores = {
        "policy LM (baseline)": reply_logprobs(policy, tok, seqs),
        "verifier LM": reply_logprobs(verifier, tok, seqs),
        "reward soup": score_sequences(soup, seqs, tok.pad_id),
    }
    results = {"pass@N (ceiling)": pass_at_n(correct, cfg.bon_n)}
    for name, flat in scores.items():
        results[name] = best_of_n(
            correct, [flat[k * n : (k + 1) * n] for k in range(len(items))], cfg.bon_n
        )
    base = results["policy LM (baseline)"]
    print(f"Best-of-N on {len(items)} {cfg.bon_task} prompts × {n} samples (seed {seed})")
    print(f"{'picked by':24s}" + "".join(f"  N={N:<5d}" for N in cfg.bon_n) + "  ratio at N=max")
    for name, acc in results.items():
        ratio = acc[n] / base[n] if base[n] else float("nan")
        print(f"{name:24s}" + "".join(f"  {acc[N]:.3f}  " for N in cfg.bon_n) + f"  {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
