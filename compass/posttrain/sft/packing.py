"""Sample packing for SFT: several chat samples per row, each isolated from the others.

Each sample keeps its own positions (restarting at 0) and a document id, so the model's block-
diagonal causal mask stops attention at sample borders: a packed row computes exactly what the
samples would compute one by one, with far less padding. Labels are the next token where the
loss mask is on (assistant tokens), -100 elsewhere. Rows are padded only up to a multiple of a
bucket size ("dynamic padding"), not to the full sequence length.

Legend: B rows, T tokens per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class PackedBatch:
    input_ids_BT: torch.Tensor
    labels_BT: torch.Tensor
    doc_ids_BT: torch.Tensor  # -1 on padding
    positions_BT: torch.Tensor
    attention_mask_BT: torch.Tensor

    @property
    def real_token_share(self) -> float:
        return float(self.attention_mask_BT.float().mean())


def _labels(ids: list[int], mask: list[int]) -> list[int]:
    """Next-token labels: position t predicts ids[t+1] when ids[t+1] is an assistant token."""
    return [ids[t + 1] if mask[t + 1] else IGNORE for t in range(len(ids) - 1)] + [IGNORE]


def first_fit_rows(lengths: list[int], seq_len: int) -> list[list[int]]:
    """Assign samples to rows, longest first, each into the first row with room (first-fit
    decreasing)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        n = lengths[i]
        if n > seq_len:
            raise ValueError(
                f"sample {i} has {n} tokens > seq_len {seq_len}: truncate or drop it first"
            )
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(seq_len - n)
    return rows


def pack(
    samples: list[tuple[list[int], list[int]]],
    seq_len: int,
    pad_id: int,
    bucket: int = 16,
    rows: list[list[int]] | None = None,
) -> PackedBatch:
    """Pack (ids, loss_mask) samples into rows; ``rows`` (sample indices per row) may be given."""
    rows = rows if rows is not None else first_fit_rows([len(s[0]) for s in samples], seq_len)
    width = max(sum(len(samples[i][0]) for i in row) for row in rows)
    width = min(seq_len, -(-width // bucket) * bucket)
    B = len(rows)
    ids = torch.full((B, width), pad_id, dtype=torch.long)
    labels = torch.full((B, width), IGNORE, dtype=torch.long)
    docs = torch.full((B, width), -1, dtype=torch.long)
    pos = torch.zeros((B, width), dtype=torch.long)
    for b, row in enumerate(rows):
        t = 0
        for doc, i in enumerate(row):
            s_ids, s_mask = samples[i]
            n = len(s_ids)
            ids[b, t : t + n] = torch.tensor(s_ids)
            labels[b, t : t + n] = torch.tensor(_labels(s_ids, s_mask))
            docs[b, t : t + n] = doc
            pos[b, t : t + n] = torch.arange(n)
            t += n
    return PackedBatch(ids, labels, docs, pos, (docs >= 0).long())


def pad_each(
    samples: list[tuple[list[int], list[int]]], pad_id: int, bucket: int = 16
) -> PackedBatch:
    """One sample per row (the unpacked baseline packing is measured against)."""
    seq_len = max(len(s[0]) for s in samples)
    return pack(
        samples,
        -(-seq_len // bucket) * bucket,
        pad_id,
        bucket,
        rows=[[i] for i in range(len(samples))],
    )
