"""``expert_impl="measure"``: timed once per shape, the random stream untouched, same results."""

import pytest
import torch

from compass.model.moe import kernel_choice
from compass.model.moe.experts import RoutedExperts


def _experts(impl: str) -> RoutedExperts:
    gen = torch.Generator().manual_seed(0)
    experts = RoutedExperts(8, 32, 48, impl)
    with torch.no_grad():
        for p in experts.parameters():
            p.normal_(0, 0.2, generator=gen)
    return experts


@pytest.mark.parametrize("grad", [True, False])
def test_auto_measures_once_per_shape_and_leaves_the_random_stream_alone(monkeypatch, grad):
    kernel_choice.clear()
    timed = []
    time_them = kernel_choice._time
    monkeypatch.setattr(kernel_choice, "_time", lambda t: timed.append(1) or time_them(t))
    experts = _experts("measure")
    x = torch.randn(40, 32)
    w, e = torch.softmax(torch.randn(40, 8), -1).topk(2, dim=-1)
    expected = torch.manual_seed(5) and torch.rand(3)
    torch.manual_seed(5)
    with torch.set_grad_enabled(grad):
        y = experts(x, w, e)
        assert torch.equal(torch.rand(3), expected)  # the timing used its own generator
        experts(x[:33], w[:33], e[:33])  # same power-of-two bucket: no second timing
    assert timed == [1]
    assert set(next(iter(kernel_choice.measured().values()))) == {"bmm", "grouped_mm"}
    with torch.no_grad():
        torch.testing.assert_close(y, _experts("loop")(x, w, e), rtol=1e-5, atol=1e-6)
    kernel_choice.clear()


def test_measuring_inside_activation_checkpointing_keeps_the_recomputation_exact():
    """The timing's own forward/backward must not be recorded by the checkpoint's hooks."""
    from torch.utils.checkpoint import checkpoint

    kernel_choice.clear()
    experts = _experts("measure")
    x = torch.randn(40, 32, requires_grad=True)
    w, e = torch.softmax(torch.randn(40, 8), -1).topk(2, dim=-1)
    checkpoint(experts, x, w, e, use_reentrant=False).sum().backward()
    assert x.grad is not None and kernel_choice.measured()
    kernel_choice.clear()
