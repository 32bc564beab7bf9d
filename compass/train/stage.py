"""What a training stage gives the loop: batches, a loss, evaluation sets and its data state.

Pretraining, SFT, reward modelling and DPO each implement :class:`Stage`; the loop
(``loop.Trainer``) owns everything else (optimizer, schedules, clipping, accumulation, MoE loss
coefficients, evaluation, checkpoints, logging).

Loss normalisation: ``loss`` returns a *sum* over its units (tokens for language modelling,
pairs for DPO/reward) and ``loss_units`` says how many units a batch holds. The loop divides by
the units of the whole global batch (all micro-batches, all ranks), so gradient accumulation and
data parallelism give the same gradient as one big batch even when batches hold different
numbers of loss tokens (SFT masks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

Batch = dict[str, torch.Tensor]


@dataclass
class LossOutput:
    loss_sum: torch.Tensor  # differentiable sum over this batch's loss units
    aux_loss: torch.Tensor | None = None  # raw MoE losses; the loop applies the coefficients
    z_loss: torch.Tensor | None = None
    expert_counts_LE: torch.Tensor | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # extra per-batch figures to log


@runtime_checkable
class Stage(Protocol):
    name: str

    def next_batch(self) -> Batch:
        """The next micro-batch for this rank."""

    def loss_units(self, batch: Batch) -> int:
        """How many units (tokens, pairs) ``loss`` will sum over for this batch."""

    def loss(self, model: nn.Module, batch: Batch) -> LossOutput:
        """Forward ``model`` on ``batch``; return the summed loss and the raw MoE losses."""

    def eval_sets(self) -> dict[str, Callable[[], Iterable[Batch]]]:
        """Named held-out sets: each a factory of a fresh, finite iterable of batches."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable data position (restored exactly on resume)."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def lm_loss(
    model: nn.Module,
    batch: Batch,
    isolate_docs: bool,
    ignore_index: int = -100,
    labelled_only: bool = False,
    doc_segments: bool = False,
) -> LossOutput:
    """Next-token cross-entropy (summed) on a packed batch; the helper LM-style stages share.
    ``labelled_only``: the LM head and the cross-entropy run only at the positions with a label,
    the same sum without the logits no label reads (SFT trains on assistant tokens only).
    ``doc_segments``: isolated documents attend one at a time (the model's ``doc_segments``),
    for rows packed with many short documents."""
    labels_BT = batch["labels"]
    kw = {"logits_mask_BT": labels_BT != ignore_index} if labelled_only else {}
    if isolate_docs and "doc_ids" in batch:
        kw |= {"positions_BT": batch["positions"], "doc_ids_BT": batch["doc_ids"]}
        kw |= {"doc_segments": True} if doc_segments else {}
    out = model(batch["input_ids"], **kw)
    logits_NV = out.logits_BTV.flatten(0, 1).float()
    labels_N = labels_BT[kw["logits_mask_BT"]] if labelled_only else labels_BT.flatten()
    loss_sum = F.cross_entropy(logits_NV, labels_N, ignore_index=ignore_index, reduction="sum")
    return LossOutput(loss_sum, out.aux_loss, out.z_loss, out.expert_counts_LE)


def count_label_tokens(batch: Batch, ignore_index: int = -100) -> int:
    return int((batch["labels"] != ignore_index).sum())
