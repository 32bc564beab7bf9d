"""A contiguous slice of the model (a pipeline stage), run on explicit per-micro-batch inputs.

The parallel engine runs the model through this wrapper in every layout: with ``pp = 1`` the one
stage holds everything. It calls the model's own embedding, blocks, norm and head, so the model
code is untouched, but it builds the attention mask itself — under context parallel the mask
spans the whole sequence's keys, which ``CompassModel.forward`` cannot know.

Stage I/O is what ``torch.distributed.pipelining`` passes between ranks: the first stage takes
token ids, later ones ``(hidden, moe)``, where ``moe = [Σ aux, Σ z]`` over the layers so far, so
every stage's balance losses reach the loss on the last stage with their gradients. Positions
and document ids travel beside the schedule (``set_micro_batches``): every rank of a pipeline
reads the same batch, and a stage runs its forwards in micro-batch order in GPipe and 1F1B.
Parameter names stay the model's (``embed``, ``layers.3``, ``lm_head``).

Legend: B batch, T local tokens, S sequence, D model dim, V vocab, L layers, E experts.
"""

from __future__ import annotations

import torch
from torch import nn

from compass.distributed.context_parallel import chunk_seq, cp_mask
from compass.model.attention import build_mask
from compass.model.rope import rope_cos_sin


class Stage(nn.Module):
    def __init__(self, model: nn.Module, index: int, n_stages: int, cp_rank: int, cp_size: int):
        super().__init__()
        cfg = model.config  # tied embeddings with pp > 1 are refused by ParallelConfig.check
        lo, hi = stage_layers(cfg.n_layers, index, n_stages)
        self.config, self.lo, self.hi = cfg, lo, hi
        self.index, self.first, self.last = index, index == 0, index == n_stages - 1
        self.cp_rank, self.cp_size = cp_rank, cp_size
        self.embed = model.embed if self.first else None
        self.layers = nn.ModuleDict({str(i): model.layers[i] for i in range(lo, hi)})
        self.norm = model.norm if self.last else None
        self.lm_head = model.lm_head if self.last else None
        self._inputs: list[dict] = []
        self._next = 0
        self.counts: list[torch.Tensor] = []  # [L_stage, E] per micro-batch, this step

    def set_micro_batches(self, inputs: list[dict]) -> None:
        """Each micro-batch's full-sequence ``positions`` and optional ``doc_ids`` ([B, S])."""
        self._inputs, self._next, self.counts = inputs, 0, []

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        side = self._inputs[self._next % len(self._inputs)]
        self._next += 1
        if self.first:
            x_BTD = self.embed(args[0])
            moe = x_BTD.new_zeros(2, dtype=torch.float32)
        else:
            x_BTD, moe = args
        positions_BS, doc_ids_BS = side["positions"], side.get("doc_ids")
        positions_BT = chunk_seq(positions_BS, self.cp_rank, self.cp_size)
        mask = self._mask(positions_BT, positions_BS, doc_ids_BS)
        cos_sin = rope_cos_sin(
            positions_BT, self.config.head_dim, self.config.rope_base, x_BTD.dtype
        )
        aux, z, counts = [], [], []
        for layer in self.layers.values():
            x_BTD, routing = layer(x_BTD, cos_sin, mask, positions_BT, None, None)
            aux.append(routing.aux_loss)
            z.append(routing.z_loss)
            counts.append(routing.counts_E)
        if aux:
            moe = moe + torch.stack([torch.stack(aux).sum(), torch.stack(z).sum()])
            self.counts.append(torch.stack(counts).detach())
        if self.last:
            return self.lm_head(self.norm(x_BTD)), moe
        return x_BTD, moe

    def _mask(self, positions_BT, positions_BS, doc_ids_BS):
        if self.cp_size == 1:
            return build_mask(positions_BT, doc_ids_BS)
        B, S = positions_BS.shape
        return cp_mask(doc_ids_BS, B, S, self.cp_rank, self.cp_size, positions_BS.device)


def stage_layers(n_layers: int, index: int, n_stages: int) -> tuple[int, int]:
    """Layers [lo, hi) of stage ``index``; earlier stages take the remainder (the last stage
    also runs the LM head, the largest matmul)."""
    base, extra = divmod(n_layers, n_stages)
    lo = index * base + min(index, extra)
    return lo, lo + base + (1 if index < extra else 0)


class StageGroup(nn.Module):
    """The stages one rank runs — one, or several under an interleaved schedule — as one module
    with the model's parameter names (what the optimizer, FSDP's gradient sync and checkpoints
    see). The stages themselves are kept unregistered: their parameters are registered here."""

    def __init__(self, stages: list[Stage]):
        super().__init__()
        self.config = stages[0].config
        self.embed = next((s.embed for s in stages if s.embed is not None), None)
        self.layers = nn.ModuleDict({k: m for s in stages for k, m in s.layers.items()})
        self.norm = next((s.norm for s in stages if s.norm is not None), None)
        self.lm_head = next((s.lm_head for s in stages if s.lm_head is not None), None)
        self.parts = tuple(stages)
        self.first, self.last = stages[0].first, stages[-1].last

    def set_micro_batches(self, inputs: list[dict]) -> None:
        for part in self.parts:
            part.set_micro_batches(inputs)
