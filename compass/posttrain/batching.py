"""Padded batches of token rows, shared by the reward model and DPO (scoring and training).

Legend: B rows, T tokens.
"""

from __future__ import annotations

import torch

from compass.posttrain.sft.packing import IGNORE


def pad_rows(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and a 1/0 mask on real tokens."""
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def response_rows(
    prompts: list[list[int]], responses: list[list[int]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, attention mask, labels): labels[t] = ids[t+1] where ids[t+1] is a response token."""
    rows = [p + r for p, r in zip(prompts, responses)]
    ids, mask = pad_rows(rows, pad_id)
    labels = torch.full(ids.shape, IGNORE, dtype=torch.long)
    for i, (p, row) in enumerate(zip(prompts, rows)):
        labels[i, len(p) - 1 : len(row) - 1] = torch.tensor(row[len(p) :])
    return ids, mask, labels
