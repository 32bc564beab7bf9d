"""Step time of online DPO on the tiny demo's own data: the stage as it is vs a named baseline,
measured in the same run on the same batches, interleaved (rounds of a few steps each).

The pairs are round 0's, made as ``run_round`` makes them (the SFT stage-2 policy samples the
round's prompts, the reward soup scores them, ``make_pairs``), once, before the timing.

- ``full_head``: the LM head and the log-softmax at every position of the 2B rows (prompts and
  padding included), ``sequence_logprobs`` over the full logits: the step before
  ``response_logprobs_of``.

The reference's log-probabilities of the round's pairs (``response_logprobs``, computed once per
round) are timed the same two ways first. Both trainers start from the same checkpoint and read
the same batches; their losses are printed side by side (they differ at float level only).

    OMP_NUM_THREADS=1 .venv/bin/python bench/dpo_step.py --run runs/tiny
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from pathlib import Path

import torch
from step_race import race

import compass.posttrain.scoring as scoring
from compass.inference.engine import Engine
from compass.model.io import load_model
from compass.posttrain.batching import response_rows
from compass.posttrain.dpo import run as dpo_run
from compass.posttrain.dpo.loss import sequence_logprobs
from compass.posttrain.dpo.stage import DPOStage
from compass.posttrain.reward.io import load_reward_model
from compass.posttrain.schedule import epochs_config
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer


class FullHeadStage(DPOStage):
    def logprobs(self, model, batch):
        out = model(batch["input_ids"], attention_mask_BT=batch["attention_mask"])
        return sequence_logprobs(out.logits_BTV, batch["labels"]), out


@torch.no_grad()
def full_head_logprobs(model, prompts, responses, pad_id, batch=16):
    model.eval()
    out = []
    for k in range(0, len(prompts), batch):
        ids, mask, labels = response_rows(prompts[k : k + batch], responses[k : k + batch], pad_id)
        out += sequence_logprobs(model(ids, attention_mask_BT=mask).logits_BTV, labels).tolist()
    return out


def round0(run: Path):
    """(config, tokenizer, round 0's pairs with their reference log-probs)."""
    cfg = copy.deepcopy(get_recipe("tiny").dpo)
    cfg.prompts = [str(run / "tasks" / "prompts" / "dpo.jsonl")]
    cfg.heldout = [str(run / "tasks" / "prompts" / "dpo_heldout.jsonl")]
    train, _, _ = dpo_run.load_prompts(cfg)
    init = run / "sft2" / "ckpt"
    ctx = dpo_run.DPOContext(
        cfg,
        load_model(init),
        load_model(init).eval().requires_grad_(False),
        load_reward_model(run / "reward"),
        load_tokenizer(run / "tokenizer"),
        run,
    )
    prompts = dpo_run.with_modes(dpo_run.round_slices(train, cfg.rounds)[0], cfg.math_modes)
    engine = Engine(ctx.model, ctx.tok, max_batch=64)
    samples = dpo_run.sample_prompts(cfg, engine, ctx.tok, prompts, cfg.seed)
    pairs, _, _ = dpo_run.make_pairs(ctx, prompts, samples, Counter())
    args = (
        [p.prompt_ids for p in pairs] * 2,
        [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs],
        ctx.tok.pad_id,
    )
    times = {"stage": 0.0, "full_head": 0.0}
    for _ in range(3):
        for name, fn in (("stage", scoring.response_logprobs), ("full_head", full_head_logprobs)):
            t = time.perf_counter()
            fn(ctx.ref, *args)
            times[name] += time.perf_counter() - t
    print(
        f"reference log-probs of {len(pairs)} pairs: stage {times['stage'] / 3:.2f} s, "
        f"full_head {times['full_head'] / 3:.2f} s, "
        f"stage / full_head = {times['stage'] / times['full_head']:.3f}"
    )
    dpo_run._with_reference(ctx.ref, pairs, ctx.tok.pad_id)
    return cfg, ctx.tok, pairs, init


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    cfg, tok, pairs, init = round0(Path(args.run))
    tc = epochs_config(cfg.train, cfg.epochs, len(pairs))
    out = {}
    for name, cls in (("stage", DPOStage), ("full_head", FullHeadStage)):
        stage = cls(pairs, tc.micro_batch_size, tok.pad_id, cfg.beta, cfg.seed, cfg.nll_alpha)
        out[name] = Trainer(load_model(init), stage, tc, tmp / name)
    return out


def main() -> None:
    race(__doc__, trainers)


if __name__ == "__main__":
    main()
