"""The verifier warm-up: the reward backbone learns to write verified solutions before it judges.

With the likelihood term (``compass.posttrain.reward.model``) a reward model scores an answer
partly by how likely its own LM finds it. Started from the policy, that LM *is* the policy: it
prefers the policy's own mode, right no more often than one sample. A verifier must check each
step better than the policy wrote it. So before the pairwise runs the backbone is fine-tuned by
next-token loss on solutions whose every step is right: the chat samples of
``reward.verifier_inputs`` (any SFT format; ``compass data tasks`` writes shopping-cart chains in
deep mode, the layout the policy writes, to ``verifier.jsonl``). Its LM then puts low
probability on a wrong sum where the policy's sample put one (the generative-verifier recipe: a
verifier trained as an LM on correct solutions; the pairwise runs that follow add the head).
What it buys on the tiny policy: ``docs/reward-model.md`` and ``bench/reward_likelihood_bon.py``.

A sample that asks a held-out or Best-of-N prompt is counted and left out (``exclude``).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from compass.model.io import load_model, resolve_checkpoint
from compass.posttrain.formats import prompt_text, read_samples
from compass.posttrain.sft.config import SFTStageConfig
from compass.posttrain.sft.stage import SFTStage, Tokenized, tokenize
from compass.train.loop import Trainer

log = logging.getLogger(__name__)


def verifier_rows(
    paths: list[str], tok, seq_len: int, exclude: set[str], skipped: Counter
) -> list[Tokenized]:
    """The verified solutions of ``paths``, tokenised; unusable or excluded ones counted."""
    rejects: Counter = Counter()
    samples, _ = read_samples(paths, rejects)
    kept = [s for s in samples if prompt_text(s["messages"]) not in exclude]
    rejects["asks a held-out or Best-of-N prompt"] += len(samples) - len(kept)
    rows = tokenize(kept, tok, seq_len, rejects)
    for reason, k in (+rejects).items():
        skipped[f"verifier sample: {reason}"] += k
    return rows


def train_verifier(
    cfg, policy: Path, tok, train: list[Tokenized], out: Path
) -> tuple[Path, dict[str, Any]]:
    """Fine-tune the policy on ``train`` into the verifier backbone; (its checkpoint, what it
    trained on). ``cfg`` is the :class:`~compass.posttrain.reward.config.RewardConfig`."""
    sc: SFTStageConfig = cfg.verifier
    stage = SFTStage("reward.verifier", train, [], sc, tok.pad_id, cfg.seed)
    model = load_model(policy)
    result = Trainer(model, stage, sc, out, meta={"policy": str(policy)}).fit()
    tokens = sum(len(ids) for ids, _ in train)
    info = {
        "samples": len(train),
        "tokens": tokens,
        "steps": result.step,
        "last_loss": result.losses[-1] if result.losses else None,
    }
    log.info(
        "reward verifier: %d solutions (%d tokens), %d steps, last loss %.4f",
        len(train),
        tokens,
        result.step,
        info["last_loss"] or float("nan"),
    )
    return resolve_checkpoint(out), info
