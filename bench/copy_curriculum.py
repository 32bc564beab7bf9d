"""Does a copying lesson survive, or form, inside the main pretraining stage? Two curricula.

`bench/induction.py` shows the tiny model learns to copy Zipf-distributed repeated tokens from
about step 275 when that is all it sees. This takes the lesson into the main stage's setting: the
tiny model, the main stage's batch (8 × 256), peak lr and schedule (warm-up, cosine to the
floor), its loader over a run's token shards, and

- ``--warmup N``: N steps of nothing but Zipf(1) repeats first (bench/induction.py's batches
  of 8 × 64 tokens written twice, constant peak lr), then the main stage from there;
- ``--mix K``: K of each batch's 8 rows are Zipf(1) repeats of 129 tokens, the rest corpus;
- ``--constant-lr``: the peak lr throughout instead of the stage's schedule.

It is a plain loop (AdamW, clip 1.0, the recipe's aux and z coefficients), not the pipeline's
Trainer, so compare its runs with each other (``--mix 0`` is the baseline), not with a
pipeline run. Prints copy gain (``bench/niah_abf.py``) after the warm-up and at the end, the
held-out loss on the run's validation shard, and ``bench/recall_probe.py``'s order slip gain:

    .venv/bin/python bench/copy_curriculum.py --run RUN [--warmup 600] [--mix 2] [--constant-lr]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from induction import draw
from niah_abf import copy_gain
from recall_probe import slip_gain

from compass.data.shards import LoaderSpec, PackedLoader
from compass.data.synth.world import World
from compass.model import CompassModel
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer

BATCH, SEQ = 8, 256


def repeats(k: int, n: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k rows of n Zipf(1) tokens written twice: (inputs, labels) of ``length`` < 2n tokens."""
    x = draw(4096, 300, 1.0, (k, n))
    rows = torch.cat([x, x], 1)
    return rows[:, :length], rows[:, 1 : length + 1]


def lm_loss(model, ids, labels, aux_coef: float, z_coef: float) -> torch.Tensor:
    out = model(ids)
    ce = F.cross_entropy(out.logits_BTV.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)
    return ce + aux_coef * out.aux_loss + z_coef * out.z_loss


@torch.no_grad()
def heldout(model, shards: Path, batches: int = 8) -> float:
    loader = PackedLoader(shards, LoaderSpec(seq_len=SEQ, batch_size=BATCH, seed=0, split="val"))
    losses = []
    for _ in range(batches):
        b = loader.next_batch()
        logits = model(b["input_ids"]).logits_BTV.flatten(0, 1).float()
        losses.append(float(F.cross_entropy(logits, b["labels"].flatten(), ignore_index=-100)))
    return sum(losses) / len(losses)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a compass run dir (tokenize done)")
    p.add_argument("--warmup", type=int, default=0, help="steps of repeats before the stage")
    p.add_argument("--mix", type=int, default=0, help="rows of repeats in each batch of 8")
    p.add_argument("--steps", type=int, default=0, help="default: the recipe's main steps")
    p.add_argument("--constant-lr", action="store_true", help="the peak lr throughout")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    recipe = get_recipe("tiny")
    main_cfg = recipe.pretrain.main
    steps, peak, floor = args.steps or main_cfg.steps, main_cfg.lr, main_cfg.min_lr
    aux, z = main_cfg.aux_coef, main_cfg.z_coef
    shards = args.run / "tokenize" / "shards"
    torch.manual_seed(args.seed)
    model = CompassModel(recipe.model)
    model.init_weights(args.seed)
    decay = [q for q in model.parameters() if q.ndim >= 2]
    rest = [q for q in model.parameters() if q.ndim < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=peak, betas=(0.9, 0.95))

    def step(ids, labels, lr):
        for g in opt.param_groups:
            g["lr"] = lr
        loss = lm_loss(model, ids, labels, aux, z)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return float(loss.detach())

    for s in range(args.warmup):
        loss = step(*repeats(BATCH, 64, 127), peak)  # bench/induction.py's batches
        if s % 100 == 0:
            print(f"warm-up {s}: loss {loss:.3f}", flush=True)
    if args.warmup:
        print(f"after warm-up: copy gain {copy_gain(model):+.3f} nats", flush=True)
    spec = LoaderSpec(seq_len=SEQ, batch_size=BATCH - args.mix, seed=1, fit_lookahead=64)
    loader = PackedLoader(shards, spec)
    warm = main_cfg.warmup_steps
    for s in range(steps):
        t = (s - warm) / max(1, steps - warm)
        if args.constant_lr:
            lr = peak
        elif s < warm:
            lr = peak * (s + 1) / warm
        else:
            lr = floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * t))
        b = loader.next_batch()
        ids, labels = b["input_ids"], b["labels"]
        if args.mix:
            r_ids, r_labels = repeats(args.mix, 129, SEQ)
            ids, labels = torch.cat([ids, r_ids]), torch.cat([labels, r_labels])
        loss = step(ids, labels, lr)
        if s % 50 == 0:
            print(f"main {s}: loss {loss:.3f}", flush=True)
    model.eval()
    tok = load_tokenizer(args.run / "tokenizer")
    world = World.load(args.run / "generate" / "world.json")
    print(
        f"warm-up {args.warmup}, mix {args.mix}/{BATCH}, {steps} steps"
        f"{' at constant lr' if args.constant_lr else ''}: copy gain "
        f"{copy_gain(model):+.3f} nats, held-out loss {heldout(model, shards):.3f}, "
        f"order slip gain {slip_gain(model, tok, world, SEQ):+.3f} nats/token"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
