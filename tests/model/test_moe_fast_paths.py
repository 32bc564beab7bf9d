"""The hand-written autograd pieces behind the fast expert paths, against plain autograd."""

import torch
import torch.nn.functional as F

from compass.model.moe.dispatch import Dispatch, from_experts, to_experts
from compass.model.moe.experts import SharedExperts
from compass.model.moe.swiglu import swiglu


def test_swiglu_matches_autograd_and_passes_gradcheck():
    h = torch.randn(3, 4, 10, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(swiglu, (h,))
    gate, up = h.detach().chunk(2, -1)
    torch.testing.assert_close(swiglu(h), F.silu(gate) * up, rtol=0, atol=0)


def test_dispatch_round_trip_and_gradients_with_padding_and_empty_experts():
    N, k, E, D = 9, 2, 5, 3
    g = torch.Generator().manual_seed(0)
    experts_Nk = torch.stack([torch.randperm(3, generator=g)[:k] for _ in range(N)])  # 3, 4 empty
    plan = Dispatch.build(experts_Nk, E)
    assert plan.counts_E.tolist()[3:] == [0, 0] and int(plan.counts_E.sum()) == N * k
    token_EC, slot_A, capacity = plan.padded_slots(k)
    x = torch.randn(N, D, dtype=torch.float64, requires_grad=True)

    def padded(x_):
        buf = to_experts(x_, token_EC, slot_A, k).view(E, capacity, D)
        scaled = buf * torch.arange(1.0, E + 1, dtype=x_.dtype)[:, None, None]
        return from_experts(scaled.reshape(-1, D), slot_A)

    def sorted_path(x_):
        rows = to_experts(x_, plan.sorted_A // k, plan.rank_A, k)
        return from_experts(rows, plan.rank_A, inverse_M=plan.sorted_A)

    # assignment a = (n, j) comes back as token n scaled by (its expert + 1)
    expect = x.detach().repeat_interleave(k, 0) * (experts_Nk.flatten() + 1.0)[:, None]
    torch.testing.assert_close(padded(x), expect, rtol=0, atol=0)
    torch.testing.assert_close(sorted_path(x), x.detach().repeat_interleave(k, 0), rtol=0, atol=0)
    assert torch.autograd.gradcheck(padded, (x,))
    assert torch.autograd.gradcheck(sorted_path, (x,))


def test_shared_experts_gradients_match_two_separate_projections():
    torch.manual_seed(0)
    shared = SharedExperts(16, 24)
    x = torch.randn(7, 16, requires_grad=True)
    (shared(x) * torch.linspace(-1, 1, 7 * 16).view(7, 16)).sum().backward()
    got = [x.grad.clone()] + [p.grad.clone() for p in shared.parameters()]
    x.grad = None
    shared.zero_grad(set_to_none=True)
    ref = shared.down_proj(F.silu(shared.gate_proj(x)) * shared.up_proj(x))
    (ref * torch.linspace(-1, 1, 7 * 16).view(7, 16)).sum().backward()
    want = [x.grad] + [p.grad for p in shared.parameters()]
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # inference takes two projections instead of the fused one
        torch.testing.assert_close(shared(x), ref.detach(), rtol=1e-5, atol=1e-6)


def test_every_impl_accepts_an_empty_batch():
    from compass.model.moe.experts import RoutedExperts

    for impl in ("bmm", "grouped_mm", "loop", "auto"):
        y = RoutedExperts(4, 16, 16, impl)(
            torch.zeros(0, 16), torch.zeros(0, 2), torch.zeros(0, 2, dtype=torch.long)
        )
        assert y.shape == (0, 16), impl


def test_every_impl_runs_under_bf16_autocast_and_matches_the_loop():
    """Training on a GPU runs the experts under bf16 autocast: ``torch._grouped_mm`` is not on
    autocast's op list, so it must cast its operands itself (it once met float32 weights)."""
    from compass.model.moe.experts import RoutedExperts

    torch.manual_seed(0)
    experts = RoutedExperts(4, 16, 32, "loop")
    torch.nn.init.normal_(experts.gate_up_proj, std=0.2)
    torch.nn.init.normal_(experts.down_proj, std=0.2)
    x = torch.randn(24, 16)
    w, e = torch.softmax(torch.randn(24, 4), -1).topk(2, dim=-1)
    outs = {}
    for impl in ("loop", "bmm", "grouped_mm"):
        experts.impl = impl
        with torch.autocast("cpu", torch.bfloat16):
            outs[impl] = experts(x, w, e)
        assert outs[impl].dtype == torch.bfloat16, impl
    with torch.no_grad():  # within bf16 rounding of the float32 reference
        experts.impl = "loop"
        ref = experts(x, w, e)
    for impl, y in outs.items():
        torch.testing.assert_close(y.float(), ref, rtol=0.05, atol=0.02, msg=impl)
