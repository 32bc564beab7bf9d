"""Grouped-matmul and padded-bmm experts against the per-expert loop and a token-by-token oracle."""

import pytest
import torch

from compass.model.config import ModelConfig
from compass.model.moe.experts import RoutedExperts
from compass.model.moe.layer import MoELayer
from tests.reference.moe import moe_token_by_token

IMPLS = ["loop", "bmm", "grouped_mm"]


def _experts(impl, E=8, D=32, I=16, seed=0):
    torch.manual_seed(seed)
    ex = RoutedExperts(E, D, I, impl)
    with torch.no_grad():
        ex.gate_up_proj.normal_(0, 0.2)
        ex.down_proj.normal_(0, 0.2)
    return ex


def _run(impl, x, w, idx):
    ex = _experts(impl)
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    y = ex(x, w, idx)
    (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    return y.detach(), x.grad, w.grad, ex.gate_up_proj.grad, ex.down_proj.grad


def _routing(N, E, k, seed=1, skew=None):
    g = torch.Generator().manual_seed(seed)
    if skew is None:
        idx = torch.stack([torch.randperm(E, generator=g)[:k] for _ in range(N)])
    else:
        idx = skew
    w = torch.rand(N, k, generator=g)
    return w, idx


@pytest.mark.parametrize(
    "case",
    ["random", "empty_experts", "all_to_one"],
)
@pytest.mark.parametrize("impl", ["bmm", "grouped_mm", "auto"])
def test_impl_matches_loop_forward_and_grad(impl, case):
    N, E, k = 40, 8, 2
    x = torch.randn(N, 32, generator=torch.Generator().manual_seed(2))
    if case == "random":
        w, idx = _routing(N, E, k)
    elif case == "empty_experts":  # experts 4..7 receive no tokens at all
        w, idx = _routing(N, 4, k)
    else:  # every token's first choice is expert 3, second is expert 5
        w, idx = _routing(N, E, k, skew=torch.tensor([[3, 5]] * N))
    ref = _run("loop", x, w, idx)
    got = _run(impl, x, w, idx)
    for name, a, b in zip(["y", "dx", "dw", "dgate_up", "ddown"], ref, got):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5, msg=f"{impl}/{case}: {name} differs")


def test_moe_layer_matches_token_by_token_oracle():
    cfg = ModelConfig(
        d_model=32,
        n_heads=2,
        n_kv_heads=1,
        head_dim=16,
        n_routed_experts=6,
        top_k=3,
        expert_dim=16,
        n_shared_experts=2,
    )
    torch.manual_seed(0)
    layer = MoELayer(cfg)
    for p in layer.parameters():
        torch.nn.init.normal_(p, 0, 0.3)
    x = torch.randn(2, 5, 32)
    y, routing = layer(x)
    ref = moe_token_by_token(
        x.reshape(10, 32),
        layer.router.weight,
        layer.experts.gate_up_proj,
        layer.experts.down_proj,
        layer.shared,
        top_k=3,
    )
    torch.testing.assert_close(y.reshape(10, 32), ref, rtol=1e-5, atol=1e-5)
    assert int(routing.counts_E.sum()) == 10 * 3


def test_top_k_weights_are_not_renormalised_by_default():
    cfg = ModelConfig(d_model=32, n_heads=2, n_kv_heads=1, head_dim=16, n_routed_experts=6, top_k=2)
    layer = MoELayer(cfg)
    torch.nn.init.normal_(layer.router.weight, 0, 0.05)
    x = torch.randn(7, 32)
    routing = layer.router(x)
    assert (routing.weights_Nk.sum(-1) < 1 - 1e-3).all()
    cfg.renormalize_topk = True
    layer2 = MoELayer(cfg)
    layer2.router.weight.data.copy_(layer.router.weight.data)
    routing2 = layer2.router(x)
    torch.testing.assert_close(routing2.weights_Nk.sum(-1), torch.ones(7))


def test_router_runs_in_float32_for_low_precision_inputs():
    cfg = ModelConfig(d_model=32, n_heads=2, n_kv_heads=1, head_dim=16)
    layer = MoELayer(cfg).to(torch.bfloat16)
    routing = layer.router(torch.randn(4, 32, dtype=torch.bfloat16))
    assert routing.weights_Nk.dtype == torch.float32 and routing.aux_loss.dtype == torch.float32


@pytest.mark.parametrize("N,k", [(1, 2), (2, 2), (1, 4)])
def test_rows_path_matches_loop_and_auto_takes_it_only_for_few_rows_without_grad(N, k):
    """A decode step's few rows run token by token (``_rows``); same numbers as the loop."""
    E = 8
    x = torch.randn(N, 32, generator=torch.Generator().manual_seed(3))
    w, idx = _routing(N, E, k)
    ref = _experts("loop")(x, w, idx).detach()
    auto = _experts("auto")
    torch.testing.assert_close(auto._rows(x, w, idx).detach(), ref, rtol=1e-5, atol=1e-6)
    assert auto._few_rows(x, N * k) is False  # gradients on: the planned kernels
    with torch.inference_mode():
        assert auto._few_rows(x, N * k) is True
        torch.testing.assert_close(auto(x, w, idx), ref, rtol=1e-5, atol=1e-6)
        assert auto._few_rows(torch.randn(5, 32), 5 * k) is False  # 2·N·k > E: planned
