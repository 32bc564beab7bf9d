"""Moving token rows to their experts and back with gathers only — no scatter-add anywhere.

Advanced indexing (``x[idx]``) is the obvious gather, but its backward is an accumulating scatter
(``index_put_``/``index_add_``) that on these CPUs costs many times the forward. Every token is
routed to exactly k experts, so the accumulation has a fixed shape: gather the k rows of each token
back into (token, choice) order and sum over the choices. Both directions are then an
``index_select`` (parallel, vectorised) plus a reshape-sum, and padding rows are skipped for free.

Legend: N tokens, k experts per token, A = N·k assignments (token-major: a = n·k + j),
M rows on the expert side (A sorted rows, or E·C padded slots), E experts, C capacity, D width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


class _ToExperts(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_ND, token_M, row_A, k):
        ctx.save_for_backward(row_A)
        ctx.k = k
        return x_ND.index_select(0, token_M)

    @staticmethod
    def backward(ctx, grad_MD):
        (row_A,) = ctx.saved_tensors
        grad_AD = grad_MD.index_select(0, row_A)
        return grad_AD.view(-1, ctx.k, grad_AD.shape[-1]).sum(1), None, None, None


class _FromExperts(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y_MD, row_A, inverse_M):
        ctx.save_for_backward(row_A, inverse_M)
        ctx.n_rows = y_MD.shape[0]
        return y_MD.index_select(0, row_A)

    @staticmethod
    def backward(ctx, grad_AD):
        row_A, inverse_M = ctx.saved_tensors
        grad_AD = grad_AD.contiguous()
        if inverse_M.numel():  # a permutation: its inverse is a gather too
            return grad_AD.index_select(0, inverse_M), None, None
        # padded slots: rows no assignment uses must get exactly zero gradient
        grad_MD = grad_AD.new_zeros(ctx.n_rows, grad_AD.shape[-1])
        return grad_MD.index_copy_(0, row_A, grad_AD), None, None


def to_experts(x_ND: torch.Tensor, token_M: torch.Tensor, row_A: torch.Tensor, k: int):
    """``x_ND[token_M]``; ``row_A[a]`` is the row that holds assignment a (each token k times)."""
    return _ToExperts.apply(x_ND, token_M, row_A, k)


def from_experts(y_MD: torch.Tensor, row_A: torch.Tensor, inverse_M: torch.Tensor | None = None):
    """``y_MD[row_A]``, rows in (token, choice) order; ``inverse_M`` when row_A is a permutation."""
    empty = row_A.new_empty(0)
    return _FromExperts.apply(y_MD, row_A, empty if inverse_M is None else inverse_M)


@dataclass
class Dispatch:
    """Where each assignment goes. ``sorted_A`` lists assignments grouped by expert (stable)."""

    counts_E: torch.Tensor  # assignments per expert
    sorted_A: torch.Tensor  # assignment ids, expert-major
    rank_A: torch.Tensor  # inverse of sorted_A: the sorted position of assignment a
    expert_S: torch.Tensor  # expert of each sorted position
    arange_A: torch.Tensor

    @classmethod
    def build(cls, experts_Nk: torch.Tensor, n_experts: int) -> Dispatch:
        # Index bookkeeping uses scatter_/index_select: CPU index_put_ and repeat_interleave cost
        # milliseconds each at these sizes, more than the gathers they serve.
        flat_A = experts_Nk.flatten()
        sorted_A = torch.argsort(flat_A, stable=True)
        arange_A = torch.arange(sorted_A.numel(), device=sorted_A.device)
        rank_A = torch.empty_like(sorted_A).scatter_(0, sorted_A, arange_A)
        counts_E = torch.bincount(flat_A, minlength=n_experts)
        return cls(counts_E, sorted_A, rank_A, flat_A.index_select(0, sorted_A), arange_A)

    def padded_slots(self, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """For a padded ``[E, C]`` layout: the token feeding each slot and each assignment's slot.

        Empty slots read token 0; their outputs are never gathered back, so they add nothing.
        """
        n_experts = self.counts_E.numel()
        capacity = max(int(self.counts_E.max()), 1)
        starts_E = torch.cumsum(self.counts_E, 0) - self.counts_E
        within_S = self.arange_A - starts_E.index_select(0, self.expert_S)
        slot_S = self.expert_S * capacity + within_S
        token_EC = torch.zeros(n_experts * capacity, dtype=torch.long, device=slot_S.device)
        token_EC.scatter_(0, slot_S, self.sorted_A // k)
        return token_EC, slot_S.index_select(0, self.rank_A), capacity
