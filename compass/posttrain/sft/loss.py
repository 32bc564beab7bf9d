"""Token-level cross-entropy over the assistant tokens of a (packed) batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compass.posttrain.sft.packing import IGNORE, PackedBatch


def packed_lm_loss(model, batch: PackedBatch) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean loss over supervised tokens, model output's aux terms summed, number of supervised tokens)."""
    out = model(
        batch.input_ids_BT,
        positions_BT=batch.positions_BT,
        doc_ids_BT=batch.doc_ids_BT,
        attention_mask_BT=batch.attention_mask_BT,
    )
    n = int((batch.labels_BT != IGNORE).sum())
    loss = F.cross_entropy(
        out.logits_BTV.flatten(0, 1).float(),
        batch.labels_BT.flatten(),
        ignore_index=IGNORE,
        reduction="sum",
    ) / max(n, 1)
    return loss, out, n
