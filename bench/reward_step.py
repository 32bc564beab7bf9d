"""Step time of the reward stage's base run on the tiny demo's data: the stage as it is vs a named
baseline, measured in the same run on the same batches, interleaved (rounds of a few steps each).

- ``full_head``: the LM head at every position, both for the likelihood term (which reads the
  reply's tokens only) and for the LM anchor's packed solutions (which reads their labelled
  tokens only): the reward step before ``logits_mask_BT``.

Both start from the demo's verifier warm-up with the shared seeded head and read the same
batches; their losses are printed side by side (they differ at float level only).

    OMP_NUM_THREADS=1 .venv/bin/python bench/reward_step.py --run runs/tiny
"""

from __future__ import annotations

import copy
import functools
from contextlib import contextmanager
from pathlib import Path

import torch
from step_race import race

import compass.posttrain.reward.stage as reward_stage
from compass.posttrain.reward.config import parse_run
from compass.posttrain.reward.data import load_inputs
from compass.posttrain.reward.model import RewardModel, reasoning_logprob
from compass.posttrain.reward.run import _tokenize, new_reward_model
from compass.posttrain.reward.stage import RewardStage
from compass.posttrain.schedule import epochs_config
from compass.recipes import get_recipe
from compass.tokenizer import load_tokenizer
from compass.train.loop import Trainer
from compass.train.stage import lm_loss


class FullHeadRewardModel(RewardModel):
    def forward_full(self, input_ids_BT, attention_mask_BT):
        last_B = attention_mask_BT.sum(-1) - 1
        out = self.backbone(input_ids_BT, attention_mask_BT=attention_mask_BT, return_hidden=True)
        h_BD = out.hidden_BTD[torch.arange(input_ids_BT.shape[0]), last_B]
        reward_B = self.score(h_BD).squeeze(-1).float()
        lp_B, deep_B = reasoning_logprob(
            out.logits_BTV, input_ids_BT, attention_mask_BT, *self.think_ids
        )
        scale = self.lp_scale.float()
        return reward_B + torch.where(deep_B, scale[0], scale[1]) * lp_B, out


@contextmanager
def full_head_anchor():
    """The LM anchor's loss with logits at every position, for the baseline's steps."""
    reward_stage.lm_loss = functools.partial(lm_loss, labelled_only=False)
    try:
        yield
    finally:
        reward_stage.lm_loss = lm_loss


def trainers(args, tmp: Path) -> dict[str, Trainer]:
    run = Path(args.run)
    tasks, cfg = run / "tasks", copy.deepcopy(get_recipe("tiny").reward)
    cfg.inputs = [str(tasks / "pairs" / "train.jsonl")]
    cfg.heldout = [str(tasks / "pairs" / "heldout.jsonl")]
    cfg.verifier_inputs = [str(tasks / "verifier.jsonl")]
    tok = load_tokenizer(run / "tokenizer")
    data, _ = _tokenize(cfg, tok, load_inputs(cfg), None)
    spec = parse_run(cfg.base_run, "reward.base_run")
    tc = epochs_config(
        cfg.train, spec.epochs, len(data.train), lr=spec.lr, schedule=spec.schedule,
        warmup_frac=cfg.warmup_frac,
    )  # fmt: skip
    out = {}
    for name in ("stage", "full_head"):
        rm = new_reward_model(cfg, run / "reward" / "verifier", data.think_ids)
        if name == "full_head":
            rm.__class__ = FullHeadRewardModel
        stage = RewardStage(
            data.train, tc.micro_batch_size, data.pad_id, cfg.seed, data.heldout, data.lm_rows,
            cfg.lm_batch, cfg.lm_coef, cfg.verifier.seq_len,
        )  # fmt: skip
        out[name] = Trainer(rm, stage, tc, tmp / name)
    return out


def step(name: str, tr: Trainer) -> float:
    if name == "full_head":
        with full_head_anchor():
            return tr.train_step()["loss"]
    return tr.train_step()["loss"]


def main() -> None:
    race(__doc__, trainers, step)


if __name__ == "__main__":
    main()
