"""The differentiable collectives the parallel pieces need, each with its backward spelled out.

Gloo on CPU supports ``all_to_all_single`` with uneven splits (the list form fails when ranks'
tensors differ in size) and ``all_reduce``, but not ``reduce_scatter``; the backwards below use
only those.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


class _AllToAll(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, send_splits, recv_splits, group):
        ctx.send_splits, ctx.recv_splits, ctx.group = send_splits, recv_splits, group
        out = x.new_empty(sum(recv_splits), *x.shape[1:])
        dist.all_to_all_single(out, x.contiguous(), recv_splits, send_splits, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        # the gradient travels the same routes in reverse
        out = grad.new_empty(sum(ctx.send_splits), *grad.shape[1:])
        dist.all_to_all_single(
            out, grad.contiguous(), ctx.send_splits, ctx.recv_splits, group=ctx.group
        )
        return out, None, None, None


def all_to_all(x: torch.Tensor, send_splits: list[int], recv_splits: list[int], group):
    """Rows ``x[sum(send[:r]) : sum(send[:r+1])]`` go to rank r; returns what every rank sent us."""
    return _AllToAll.apply(x, send_splits, recv_splits, group)


def exchange_counts(counts: torch.Tensor, group) -> torch.Tensor:
    """Each rank sends ``counts[r]`` (a row) to rank r; returns the rows received, rank-major."""
    out = torch.empty_like(counts)
    dist.all_to_all_single(out, counts.contiguous(), group=group)
    return out


class _SumShared(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, group):
        y = x.clone()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, grad):
        # Every rank computes the same function of the sum and the engine SUMS parameter
        # gradients over these ranks: each rank passes back only its own share (identity).
        return grad, None


def sum_shared(x: torch.Tensor, group) -> torch.Tensor:
    """All-reduce sum whose backward is the identity (see ``_SumShared``); ``group=None`` is a
    no-op."""
    return x if group is None else _SumShared.apply(x, group)


class _GatherSeq(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim, group):
        ctx.dim, ctx.group = dim, group
        ctx.rank, ctx.size = dist.get_rank(group), dist.get_world_size(group)
        parts = [torch.empty_like(x) for _ in range(ctx.size)]
        dist.all_gather(parts, x.contiguous(), group=group)
        return torch.cat(parts, dim)

    @staticmethod
    def backward(ctx, grad):
        # every rank's queries used our chunk: sum their gradients, keep our slice
        grad = grad.contiguous()
        dist.all_reduce(grad, group=ctx.group)
        return grad.chunk(ctx.size, ctx.dim)[ctx.rank].contiguous(), None, None


def gather_seq(x: torch.Tensor, dim: int, group) -> torch.Tensor:
    """Concatenate every rank's equal-size chunk along ``dim``, rank order."""
    return _GatherSeq.apply(x, dim, group)
