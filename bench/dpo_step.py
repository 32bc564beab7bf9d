"""Step time of online DPO on the tiny demo's own data: the stage as it is vs a named baseline,
measured in the same run on the same batches, interleaved (rounds of a few steps each).

The pairs are round 0's, made as ``run_round`` makes them (the SFT stage-2 policy samples the
round's prompts, the reward soup scores them, ``make_pairs``), once, before the timing.

- ``padded``: the 2B rows right-padded to the longest, through a [2B, T, T] attention mask
  (padding tokens computed too), the LM head only at the response tokens.
- ``full_head``: that, and the LM head and the log-softmax at every position (prompts and
  padding included), ``sequence_logprobs`` over the full logits: the step before both changes.

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
from compass.posttrain.batching import pad_rows
from compass.posttrain.dpo import run as dpo_run
from compass.posttrain.dpo.loss import sequence_logprobs
from compass.posttrain.dpo.stage import DPOStage
from compass.posttrain.reward.io import load_reward_model
from compass.posttrain.schedule import epochs_config
from compass.posttrain.sft.packing import IGNORE
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer


def padded_rows(prompts, responses, pad_id: int = 0):
    """(ids, attention mask, labels) of the rows right-padded to the longest."""
    ids, mask = pad_rows([p + r for p, r in zip(prompts, responses)], pad_id)
    labels = torch.full(ids.shape, IGNORE, dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        labels[i, len(p) - 1 : len(p) + len(r) - 1] = torch.tensor(r)
    return ids, mask, labels


def padded_logprobs(model, ids, mask, labels, full_head: bool):
    if full_head:
        out = model(ids, attention_mask_BT=mask)
        return sequence_logprobs(out.logits_BTV, labels), out
    keep = labels != IGNORE
    out = model(ids, attention_mask_BT=mask, logits_mask_BT=keep)
    logits = out.logits_BTV[0].float()
    logp = logits.gather(1, labels[keep][:, None])[:, 0] - logits.logsumexp(-1)
    return logp.new_zeros(len(ids)).index_add(0, keep.nonzero()[:, 0], logp), out


class PaddedStage(DPOStage):
    full_head = False

    def logprobs(self, model, batch):
        B = len(batch["ref_chosen"])
        doc, ids = batch["doc_ids"][0], batch["input_ids"][0]
        rows = [ids[doc == i].tolist() for i in range(2 * B)]
        n_resp = doc[batch["labels"][0] != IGNORE].bincount(minlength=2 * B).tolist()
        prompts = [row[: len(row) - n] for row, n in zip(rows, n_resp)]
        responses = [row[len(row) - n :] for row, n in zip(rows, n_resp)]
        return padded_logprobs(model, *padded_rows(prompts, responses), self.full_head)


class FullHeadStage(PaddedStage):
    full_head = True


@torch.no_grad()
def reference_logprobs(model, prompts, responses, full_head: bool, batch=16):
    model.eval()
    out = []
    for k in range(0, len(prompts), batch):
        rows = padded_rows(prompts[k : k + batch], responses[k : k + batch])
        out += padded_logprobs(model, *rows, full_head)[0].tolist()
    return out


def round0(run: Path):
    """(config, round 0's pairs with their reference log-probs)."""
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
    )
    ways = {
        "stage": lambda: scoring.response_logprobs(ctx.ref, *args),
        "padded": lambda: reference_logprobs(ctx.ref, *args, False),
        "full_head": lambda: reference_logprobs(ctx.ref, *args, True),
    }
    times = dict.fromkeys(ways, 0.0)
    for _ in range(3):
        for name, fn in ways.items():
            t = time.perf_counter()
            fn()
            times[name] += time.perf_counter() - t
    print(f"reference log-probs of {len(pairs)} pairs (s):")
    print(f"  stage      {times['stage'] / 3:.2f}")
    for name in ("padded", "full_head"):
        ratio = times["stage"] / times[name]
        print(f"  {name:10s} {times[name] / 3:.2f}  stage / {name} = {ratio:.3f}")
    dpo_run._with_reference(ctx.ref, pairs)
    return cfg, pairs, init


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    cfg, pairs, init = round0(Path(args.run))
    tc = epochs_config(cfg.train, cfg.epochs, len(pairs))
    out = {}
    for name, cls in (("stage", DPOStage), ("padded", PaddedStage), ("full_head", FullHeadStage)):
        stage = cls(pairs, tc.micro_batch_size, cfg.beta, cfg.seed, cfg.nll_alpha)
        out[name] = Trainer(load_model(init), stage, tc, tmp / name)
    return out


def main() -> None:
    race(__doc__, trainers)


if __name__ == "__main__":
    main()
