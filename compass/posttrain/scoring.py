"""Batched no-grad scoring: a reward model's score of each sequence, a policy's log-probability
of each response. Batches are built on the CPU and moved to the model's device."""

from __future__ import annotations

import torch
from torch import nn

from compass.distributed.env import module_device
from compass.posttrain.batching import packed_response_rows, pad_rows
from compass.posttrain.dpo.loss import response_logprobs_of


@torch.no_grad()
def score_sequences(
    rm: nn.Module, seqs: list[list[int]], pad_id: int, batch: int = 32
) -> list[float]:
    """The reward of each token sequence; sorted by length so batches carry little padding."""
    rm.eval()
    device = module_device(rm)  # batches are built on the CPU
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    scores = [0.0] * len(seqs)
    for k in range(0, len(order), batch):
        idx = order[k : k + batch]
        ids, mask = pad_rows([seqs[i] for i in idx], pad_id)
        reward, _ = rm(ids.to(device), mask.to(device))
        for i, r in zip(idx, reward.tolist()):
            scores[i] = r
    return scores


@torch.no_grad()
def response_logprobs(
    model: nn.Module,
    prompts: list[list[int]],
    responses: list[list[int]],
    batch: int = 16,
) -> list[float]:
    """log π(response | prompt) for each (prompt, response), in batches."""
    model.eval()
    device = module_device(model)  # rows are built on the CPU
    out: list[float] = []
    for k in range(0, len(prompts), batch):
        rows = packed_response_rows(prompts[k : k + batch], responses[k : k + batch])
        rows = {name: t.to(device) for name, t in rows.items()}
        out += response_logprobs_of(model, rows)[0].tolist()
    return out
