"""The DPO loss against the formula written out with Python floats."""

import math

import torch

from compass.dpo.loss import dpo_loss, sequence_logprobs
from compass.sft.packing import IGNORE


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
