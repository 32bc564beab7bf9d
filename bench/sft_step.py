"""Step time of SFT stage 2 on the tiny demo's own data: the stage as it is vs a named baseline,
measured in the same run on the same batches, interleaved (rounds of a few steps each).

- ``mask``: attention through the [B, T, T] block-diagonal mask instead of one document at a
  time (``lm_loss(doc_segments=False)``).
- ``full_head``: that, and the LM head and the cross-entropy at every position of the packed
  rows (``lm_loss(labelled_only=False)``): SFT's labels cover about 30% of them. The step as it
  was before either change.
- ``grouped_mm`` (a candidate, not a baseline): the stage with the routed experts forced to
  ``torch._grouped_mm`` (``expert_impl``; the checkpoints' ``auto`` picks the padded ``bmm``
  unless padding would more than double its work).

Both start from the same stage-1 checkpoint and read the same batches; their losses are printed
side by side (they differ at float level only). ``--verifier``: the reward stage's verifier
warm-up instead (its config and verified chains, from the SFT stage-2 checkpoint).

    OMP_NUM_THREADS=1 .venv/bin/python bench/sft_step.py --run runs/tiny
    OMP_NUM_THREADS=1 .venv/bin/python bench/sft_step.py --run runs/tiny --verifier
    .venv/bin/python bench/sft_step.py --run runs/tiny --rounds 4 --steps 5
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import torch
from step_race import race

from compass.posttrain.formats import read_samples
from compass.posttrain.reward.verifier import verifier_rows
from compass.posttrain.sft.run import build_model, data_files
from compass.posttrain.sft.stage import SFTStage, stage_mix, tokenize
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer
from compass.train.stage import lm_loss


class MaskStage(SFTStage):
    def loss(self, model, batch):
        return lm_loss(model, batch, isolate_docs=True, labelled_only=True)


class FullHeadStage(SFTStage):
    def loss(self, model, batch):
        return lm_loss(model, batch, isolate_docs=True)


VARIANTS = {
    "stage": SFTStage,
    "mask": MaskStage,
    "full_head": FullHeadStage,
    "grouped_mm": SFTStage,
}


def sft2_data(run: Path):
    """(config, seed, rows, init checkpoint) of SFT stage 2, as ``run_sft`` builds them."""
    recipe = get_recipe("tiny")
    cfg, seed = recipe.sft.stage(2), recipe.sft.data.seed
    tok = load_tokenizer(run / "tokenizer")
    samples, _ = read_samples(data_files(run / "sft_data"))
    mix = stage_mix(samples, 2, cfg, seed)
    random.Random(seed).shuffle(mix)
    return cfg, seed, tokenize(mix[64:], tok, cfg.seq_len, Counter()), run / "sft1" / "ckpt"


def verifier_data(run: Path):
    """The same for the reward stage's verifier warm-up."""
    cfg = get_recipe("tiny").reward
    tok = load_tokenizer(run / "tokenizer")
    paths = [str(run / "tasks" / "verifier.jsonl")]
    rows = verifier_rows(paths, tok, cfg.verifier.seq_len, set(), Counter())
    return cfg.verifier, cfg.seed, rows, run / "sft2" / "ckpt"


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    run = Path(args.run)
    cfg, seed, train, init = (verifier_data if args.verifier else sft2_data)(run)
    pad_id = load_tokenizer(run / "tokenizer").pad_id
    out = {}
    for name, cls in VARIANTS.items():
        model = build_model(init, cfg.seq_len, False)
        if name == "grouped_mm":
            for layer in model.layers:
                layer.moe.experts.impl = "grouped_mm"
        torch.manual_seed(seed)
        stage = cls("sft", train, [], cfg, pad_id, seed)
        out[name] = Trainer(model, stage, cfg, tmp / name)
    return out


def main() -> None:
    flag = {"action": "store_true", "help": "the reward verifier warm-up instead of SFT stage 2"}
    race(__doc__, trainers, options={"--verifier": flag})


if __name__ == "__main__":
    main()
