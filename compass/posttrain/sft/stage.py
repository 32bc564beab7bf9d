"""SFT as a :class:`~compass.train.stage.Stage`: chat samples → packed, loss-masked batches.

Samples are rendered by the tokenizer's chat template (loss on assistant tokens only; long-CoT
samples in deep mode, the rest in fast mode), then packed first-fit into rows with per-sample
attention isolation and position reset, padded to a multiple of ``bucket``. A sample longer
than the sequence length is dropped and counted (cutting it would cut the answer the loss is
for). The data order is a seeded permutation per epoch, so resume is exact.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

from compass.config import ConfigError
from compass.posttrain.sft.config import SFTStageConfig
from compass.posttrain.sft.packing import pack
from compass.train.epochs import ShuffledEpochs
from compass.train.stage import Batch, LossOutput, count_label_tokens, lm_loss

log = logging.getLogger(__name__)
Tokenized = tuple[list[int], list[int]]


def tokenize(
    samples: list[dict[str, Any]], tokenizer, seq_len: int, counts: Counter | None = None
) -> list[Tokenized]:
    """(ids, loss_mask) per sample; too-long or unrenderable samples are counted in ``counts``."""
    counts = counts if counts is not None else Counter()
    out = []
    for s in samples:
        try:
            ids, mask = tokenizer.render_chat(
                s["messages"], enable_thinking=bool(s.get("long_cot")), tools=s.get("tools")
            )
        except (ConfigError, KeyError, TypeError) as e:
            counts[f"render error: {e}"[:80]] += 1
            continue
        if len(ids) > seq_len:
            counts["longer than seq_len (dropped)"] += 1
            continue
        if not any(mask[1:]):
            counts["no supervised token"] += 1
            continue
        out.append((ids, mask))
    return out


def stage_mix(
    samples: list[dict[str, Any]], stage: int, cfg: SFTStageConfig, seed: int
) -> list[dict[str, Any]]:
    """Stage 1: the stage-1 samples. Stage 2: its own samples, the long-CoT ones downsampled to
    ``long_cot_ratio``, plus ``stage1_resample`` of the stage-1 pool replayed (report §3.2)."""
    rng = random.Random(f"mix:{seed}:{stage}")
    one = [s for s in samples if s.get("stage", 1) == 1]
    if stage == 1:
        return one
    two = [s for s in samples if s.get("stage") == 2 and not s.get("long_cot")]
    cot = [s for s in samples if s.get("stage") == 2 and s.get("long_cot")]
    cot = rng.sample(cot, round(len(cot) * cfg.long_cot_ratio))
    replay = rng.sample(one, round(len(one) * cfg.stage1_resample))
    return two + cot + replay


class SFTStage:
    """Packed batches of ``micro_batch_size × seq_len`` tokens at most, in a seeded order."""

    def __init__(
        self,
        name: str,
        train: list[Tokenized],
        held_out: list[Tokenized],
        cfg: SFTStageConfig,
        pad_id: int,
        seed: int,
    ):
        if not train:
            raise ConfigError(f"{name}: no training samples left after filtering; check the data")
        self.name, self.train, self.held_out = name, train, held_out
        self.cfg, self.pad_id, self.seed = cfg, pad_id, seed
        self.epochs = ShuffledEpochs(len(train), seed)

    def _collate(self, samples: list[Tokenized]) -> Batch:
        b = pack(samples, self.cfg.seq_len, self.pad_id, self.cfg.bucket)
        return {
            "input_ids": b.input_ids_BT,
            "labels": b.labels_BT,
            "positions": b.positions_BT,
            "doc_ids": b.doc_ids_BT,
        }

    def next_batch(self) -> Batch:
        budget = self.cfg.micro_batch_size * self.cfg.seq_len
        picked: list[Tokenized] = []
        used = 0
        while True:
            s = self.train[self.epochs.peek()]
            if picked and used + len(s[0]) > budget:
                break
            picked.append(s)
            used += len(s[0])
            self.epochs.take(1)
        return self._collate(picked)

    def loss_units(self, batch: Batch) -> int:
        return count_label_tokens(batch)

    def loss(self, model: nn.Module, batch: Batch) -> LossOutput:
        return lm_loss(model, batch, isolate_docs=True, labelled_only=True, doc_segments=True)

    def eval_sets(self) -> dict[str, Callable[[], Iterable[Batch]]]:
        if not self.held_out:
            return {}
        step = max(1, len(self.held_out) // max(1, self.cfg.eval_batches))
        chunks = [self.held_out[i : i + step] for i in range(0, len(self.held_out), step)]
        return {"val": lambda: [self._collate(c) for c in chunks[: self.cfg.eval_batches]]}

    def state_dict(self) -> dict[str, Any]:
        return self.epochs.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs.load_state_dict(state)
