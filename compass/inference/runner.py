"""Runs the model for one scheduled step: builds the padded id/position tensors, points the
forward at the requests' cache slots, and returns only the logits that will be sampled.

Rows of a prefill batch have different chunk lengths; shorter rows are padded at the end. A pad
token sits at a position after its row's real tokens, so it never hides a real key: its garbage
key is overwritten by the row's next real token before any query can see that position.

Legend: B rows, T tokens per row, D model dim, V vocab.
"""

from __future__ import annotations

import torch
from torch import nn

from compass.inference.cache import SlotCache
from compass.inference.request import Request


class ModelRunner:
    def __init__(self, model: nn.Module, cache: SlotCache, device: torch.device):
        self.model, self.cache, self.device = model, cache, device

    @torch.inference_mode()
    def run(self, rows: list[tuple[Request, int]]) -> torch.Tensor:
        """Feed each request its next ``n`` tokens; return the logits after each row's last one
        as [B, V]. Advances every request's ``num_computed``."""
        inputs = [r.next_input(n) for r, n in rows]
        T = max(len(x) for x in inputs)
        # One tensor construction per step (per-row tensor ops cost ~10% of a decode step).
        ids_BT = torch.tensor([x + [0] * (T - len(x)) for x in inputs], dtype=torch.long)
        start_B = torch.tensor([r.num_computed for r, _ in rows], dtype=torch.long)
        pos_BT = (start_B[:, None] + torch.arange(T)[None, :]).clamp_(max=self.cache.max_len - 1)
        last = [len(x) - 1 for x in inputs]
        view = self.cache.view([r.slot for r, _ in rows])
        ids_BT, pos_BT = ids_BT.to(self.device), pos_BT.to(self.device)
        if T == 1:
            logits_BV = self.model(ids_BT, positions_BT=pos_BT, cache=view).logits_BTV[:, -1]
        else:
            last_B = torch.tensor(last, device=self.device)
            out = self.model(ids_BT, positions_BT=pos_BT, cache=view, logits_index_B=last_B)
            logits_BV = out.logits_BTV[:, 0]
        for (r, _), x in zip(rows, inputs):
            self.cache.record(r.slot, r.num_computed, x)
            r.num_computed += len(x)
        return logits_BV

    @torch.inference_mode()
    def full_logprobs(self, seqs: list[list[int]]) -> list[torch.Tensor]:
        """log-softmax over the vocabulary at every position of each sequence (no cache), as
        [T_i, V] float32 tensors; a right-padded batch with an attention mask."""
        T = max(len(s) for s in seqs)
        ids_BT = torch.zeros(len(seqs), T, dtype=torch.long)
        mask_BT = torch.zeros(len(seqs), T, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids_BT[i, : len(s)] = torch.tensor(s)
            mask_BT[i, : len(s)] = 1
        pos_BT = torch.arange(T)[None, :].expand(len(seqs), T)
        out = self.model(
            ids_BT.to(self.device),
            positions_BT=pos_BT.to(self.device),
            attention_mask_BT=mask_BT.to(self.device) if len(seqs) > 1 else None,
        )
        logprobs_BTV = torch.log_softmax(out.logits_BTV.float(), dim=-1)
        return [logprobs_BTV[i, : len(s)] for i, s in enumerate(seqs)]
