"""The report's load-balance and z losses against hand-computed values (§2.2)."""

import itertools
import math

import torch

from compass.model.moe.router import Router, load_balance_loss, z_loss
from tests.reference.moe import aux_loss_by_formula


def test_aux_loss_hand_computed_example():
    # 4 tokens, 4 experts, top-2. p_i sums: see columns; c_i from the chosen pairs.
    probs = torch.tensor(
        [[0.4, 0.3, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]
    )
    experts = torch.tensor([[0, 1], [1, 2], [0, 1], [0, 3]])
    # p/B = [1.45, 1.25, 0.75, 0.55]/4 ; c/(B*K) = [3, 3, 1, 1]/8
    expected = 4 * (1.45 * 3 + 1.25 * 3 + 0.75 * 1 + 0.55 * 1) / (4 * 8)
    assert math.isclose(float(load_balance_loss(probs, experts, 4)), expected, rel_tol=1e-6)
    assert math.isclose(expected, aux_loss_by_formula(probs, experts), rel_tol=1e-6)


def test_aux_loss_is_one_when_uniform_and_grows_with_concentration():
    n, E, k = 64, 8, 2
    uniform_probs = torch.full((n, E), 1.0 / E)
    balanced = torch.stack([torch.tensor([i % E, (i + 1) % E]) for i in range(n)])
    assert math.isclose(float(load_balance_loss(uniform_probs, balanced, E)), 1.0, rel_tol=1e-6)
    values = []
    for conc in [0.0, 2.0, 4.0, 8.0]:
        logits = torch.zeros(n, E)
        logits[:, 0] += conc
        logits[:, 1] += conc / 2
        probs = torch.softmax(logits, -1)
        experts = torch.topk(
            probs + 1e-6 * torch.arange(n * E).view(n, E).flip(-1) * (conc == 0), k
        ).indices
        values.append(float(load_balance_loss(probs, experts, E)))
    assert all(b > a for a, b in itertools.pairwise(values)), values


def test_z_loss_hand_computed():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    expected = (math.log(2.0) ** 2 + math.log(4.0) ** 2) / 2
    assert math.isclose(float(z_loss(logits)), expected, rel_tol=1e-6)


def test_padding_tokens_do_not_enter_the_losses():
    torch.manual_seed(0)
    router = Router(16, 4, 2)
    torch.nn.init.normal_(router.weight)
    x = torch.randn(6, 16)
    mask = torch.tensor([1, 1, 1, 0, 0, 1])
    full = router(x, mask)
    only_real = router(x[mask.bool()])
    torch.testing.assert_close(full.aux_loss, only_real.aux_loss)
    torch.testing.assert_close(full.z_loss, only_real.z_loss)
    assert int(full.counts_E.sum()) == 4 * 2


def test_aux_loss_gradient_reaches_router():
    router = Router(16, 4, 2)
    torch.nn.init.normal_(router.weight)
    router(torch.randn(10, 16)).aux_loss.backward()
    assert router.weight.grad is not None and router.weight.grad.abs().sum() > 0


def test_inference_mode_skips_the_losses_but_not_the_routing():
    torch.manual_seed(0)
    router = Router(16, 4, 2)
    torch.nn.init.normal_(router.weight)
    x = torch.randn(10, 16)
    with torch.no_grad():  # evaluation still reports the losses
        ref = router(x)
    assert float(ref.aux_loss) > 0 and float(ref.z_loss) > 0
    with torch.inference_mode():
        got = router(x)
    assert float(got.aux_loss) == 0.0 and float(got.z_loss) == 0.0
    assert torch.equal(got.experts_Nk, ref.experts_Nk) and torch.equal(got.counts_E, ref.counts_E)
    torch.testing.assert_close(got.weights_Nk, ref.weights_Nk, rtol=0, atol=0)
