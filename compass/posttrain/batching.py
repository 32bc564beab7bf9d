"""Batches of token rows, shared by the reward model (padded) and DPO (packed; scoring and
training).

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


def packed_response_rows(
    prompts: list[list[int]], responses: list[list[int]]
) -> dict[str, torch.Tensor]:
    """The (prompt + response) rows end to end in one [1, N] row, without padding: ``input_ids``,
    ``positions`` (restarting at each row), ``doc_ids`` (the row's index) and ``labels``
    (labels[t] = ids[t+1] where ids[t+1] is a response token, else IGNORE). The model attends one
    row at a time (``doc_segments``), so no padding token is computed."""
    ids: list[int] = []
    positions: list[int] = []
    doc_ids: list[int] = []
    labels: list[int] = []
    for i, (p, r) in enumerate(zip(prompts, responses)):
        n = len(p) + len(r)
        ids += p + r
        positions += range(n)
        doc_ids += [i] * n
        labels += [IGNORE] * (len(p) - 1) + r + [IGNORE]
    cols = {"input_ids": ids, "positions": positions, "doc_ids": doc_ids, "labels": labels}
    return {k: torch.tensor([v], dtype=torch.long) for k, v in cols.items()}
