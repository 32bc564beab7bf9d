"""The DPO loss against the formula written out with Python floats."""

import math

import pytest
import torch

from compass.posttrain.dpo.loss import dpo_loss, sequence_logprobs
from compass.posttrain.sft.packing import IGNORE


def test_dpo_loss_matches_formula_on_fixed_logprobs():
    pc, pr = torch.tensor([-10.0, -4.0, -7.5]), torch.tensor([-12.0, -3.0, -7.5])
    rc, rr = torch.tensor([-11.0, -5.0, -8.0]), torch.tensor([-11.5, -2.0, -9.0])
    beta = 0.2
    expected = 0.0
    for a, b, c, d in zip(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist()):
        z = beta * ((a - c) - (b - d))
        expected += -math.log(1 / (1 + math.exp(-z)))
    loss, stats = dpo_loss(pc, pr, rc, rr, beta)
    assert math.isclose(float(loss), expected / 3, rel_tol=1e-6)
    assert math.isclose(float(stats["accuracy"]), 2 / 3, rel_tol=1e-6)


def test_sequence_logprobs_sum_only_response_tokens():
    logits = torch.randn(1, 4, 6)
    labels = torch.tensor([[IGNORE, 2, 5, IGNORE]])
    lp = torch.log_softmax(logits, -1)
    expected = lp[0, 1, 2] + lp[0, 2, 5]
    torch.testing.assert_close(sequence_logprobs(logits, labels)[0], expected)


def test_gradient_pushes_chosen_up_and_rejected_down():
    pc = torch.tensor([-5.0], requires_grad=True)
    pr = torch.tensor([-5.0], requires_grad=True)
    loss, _ = dpo_loss(pc, pr, torch.tensor([-5.0]), torch.tensor([-5.0]), 0.1)
    loss.backward()
    assert pc.grad.item() < 0 < pr.grad.item()


def test_dpo_nll_term_matches_formula_on_fixed_logprobs():
    """Pang et al. 2024: DPO + α · (-log π(y_w|x) / |y_w|), averaged over pairs."""
    pc, pr = torch.tensor([-10.0, -4.0, -7.5]), torch.tensor([-12.0, -3.0, -7.5])
    rc, rr = torch.tensor([-11.0, -5.0, -8.0]), torch.tensor([-11.5, -2.0, -9.0])
    n = torch.tensor([5, 2, 3])
    beta, alpha = 0.2, 0.7
    expected = 0.0
    for a, b, c, d, k in zip(pc.tolist(), pr.tolist(), rc.tolist(), rr.tolist(), n.tolist()):
        z = beta * ((a - c) - (b - d))
        expected += -math.log(1 / (1 + math.exp(-z))) + alpha * (-a / k)
    loss, stats = dpo_loss(pc, pr, rc, rr, beta, alpha, n)
    assert math.isclose(float(loss), expected / 3, rel_tol=1e-6)
    assert math.isclose(float(stats["chosen_nll"]), (10 / 5 + 4 / 2 + 7.5 / 3) / 3, rel_tol=1e-6)
    mask = torch.tensor([True, False, True])  # pair 1 (-4.0 over 2 tokens) gets no NLL
    masked, _ = dpo_loss(pc, pr, rc, rr, beta, alpha, n, mask)
    assert math.isclose(float(masked), (expected - alpha * (4.0 / 2)) / 3, rel_tol=1e-6)
    plain, _ = dpo_loss(pc, pr, rc, rr, beta, 0.0, n)
    assert math.isclose(float(plain), float(dpo_loss(pc, pr, rc, rr, beta)[0]), rel_tol=1e-7)


def test_dpo_nll_term_needs_lengths_and_raises_the_chosen_gradient():
    with pytest.raises(ValueError, match="chosen_tokens_B"):
        dpo_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), 0.1, 1.0)
    grads = []
    for alpha in (0.0, 1.0):
        pc = torch.tensor([-5.0], requires_grad=True)
        loss, _ = dpo_loss(
            pc,
            torch.tensor([-5.0]),
            torch.tensor([-5.0]),
            torch.tensor([-5.0]),
            0.1,
            alpha,
            torch.tensor([4]),
        )
        loss.backward()
        grads.append(pc.grad.item())
    assert math.isclose(grads[1] - grads[0], -1.0 / 4, rel_tol=1e-6)


def test_response_logprobs_of_matches_full_logits_of_each_row_and_their_gradients():
    from compass.model.transformer import CompassModel
    from compass.posttrain.batching import packed_response_rows
    from compass.posttrain.dpo.loss import response_logprobs_of
    from compass.recipes import get_recipe

    torch.manual_seed(0)
    m = CompassModel(get_recipe("micro").model)
    m.init_weights(0)
    prompts, responses = [[5, 6, 7], [8, 9], [4]], [[10, 11], [12, 13, 14, 15], [16, 2]]
    got, _ = response_logprobs_of(m, packed_response_rows(prompts, responses))
    w = m.layers[0].attn.q_proj.weight
    (g_got,) = torch.autograd.grad(got.sum(), w)
    full = []
    for p, r in zip(prompts, responses):
        labels = torch.tensor([[IGNORE] * (len(p) - 1) + r + [IGNORE]])
        full.append(sequence_logprobs(m(torch.tensor([p + r])).logits_BTV, labels)[0])
    (g_full,) = torch.autograd.grad(sum(full), w)
    torch.testing.assert_close(got, torch.stack(full), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g_got, g_full, rtol=1e-4, atol=1e-6)
