"""Reward model: the score is read at the last real token; pairwise loss; weight averaging."""

import math

import torch

from compass.model import CompassModel
from compass.recipes import get_recipe
from compass.reward.model import RewardModel, average_weights, bradley_terry_loss


def _rm(seed):
    torch.manual_seed(seed)
    m = CompassModel(get_recipe("micro").model)
    m.init_weights(seed)
    rm = RewardModel(m)
    torch.nn.init.normal_(rm.score.weight, 0, 0.5)
    return rm.eval()


def test_score_ignores_right_padding():
    rm = _rm(0)
    ids = torch.randint(3, 1000, (1, 9))
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    mask = torch.cat([torch.ones(1, 9), torch.zeros(1, 4)], 1).long()
    r_plain, _ = rm(ids, torch.ones(1, 9, dtype=torch.long))
    r_pad, _ = rm(padded, mask)
    torch.testing.assert_close(r_plain, r_pad, rtol=1e-5, atol=1e-5)


def test_bradley_terry_loss_formula():
    rc, rr = torch.tensor([1.0, -0.5]), torch.tensor([0.0, 0.5])
    expected = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(1.0))) / 2
    assert math.isclose(float(bradley_terry_loss(rc, rr)), expected, rel_tol=1e-6)


def test_weight_average_is_the_elementwise_mean():
    a, b = _rm(0).state_dict(), _rm(1).state_dict()
    avg = average_weights([a, b])
    k = "score.weight"
    torch.testing.assert_close(avg[k], (a[k] + b[k]) / 2)
    assert avg.keys() == a.keys()
