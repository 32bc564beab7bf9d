"""The reward stage's loss against the Bradley-Terry formula, learning a separable preference,
batch scoring, and Best-of-N against a brute-force oracle."""

import itertools
import math

import torch

from compass.model import CompassModel
from compass.posttrain.reward.bon import best_of_n, pass_at_n
from compass.posttrain.reward.model import RewardModel, average_weights
from compass.posttrain.reward.stage import RewardStage, pairwise_accuracy
from compass.posttrain.scoring import score_sequences
from compass.recipes import get_recipe
from compass.train.config import TrainConfig
from compass.train.loop import Trainer


def _rm(seed=0):
    torch.manual_seed(seed)
    m = CompassModel(get_recipe("micro").model)
    m.init_weights(seed)
    return RewardModel(m)


def _pairs(n, seed=0):
    """Chosen ends with token 7, rejected with token 9: a preference a model can learn."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        body = torch.randint(20, 1000, (int(torch.randint(3, 12, (1,), generator=g)),), generator=g)
        out.append(([*body.tolist(), 7], [*body.tolist(), 9]))
    return out


def test_stage_loss_is_the_summed_bradley_terry_loss():
    rm = _rm()
    torch.nn.init.normal_(rm.score.weight, 0, 0.3)
    pairs = _pairs(5)
    stage = RewardStage(pairs, 5, 0, seed=1)
    batch = stage.next_batch()
    assert stage.loss_units(batch) == 5
    rm.eval()
    out = stage.loss(rm, batch)
    s = score_sequences(rm, [c for c, _ in pairs] + [r for _, r in pairs], 0)
    expected = sum(math.log1p(math.exp(-(s[i] - s[5 + i]))) for i in range(5))
    assert math.isclose(float(out.loss_sum.detach()), expected, rel_tol=1e-4)


def test_stage_resumes_its_data_position():
    a = RewardStage(_pairs(7), 3, 0, seed=2)
    for _ in range(4):
        a.next_batch()
    b = RewardStage(_pairs(7), 3, 0, seed=2)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.next_batch()["input_ids"], b.next_batch()["input_ids"])


def test_training_learns_a_separable_preference(tmp_path):
    rm = _rm()
    train, held = _pairs(32, 0), _pairs(16, 1)
    assert pairwise_accuracy(rm, held, 0) == 0.0  # zero head: ties are not wins
    cfg = TrainConfig(
        steps=12,
        micro_batch_size=8,
        lr=5e-3,
        min_lr=3e-4,
        warmup_steps=2,
        eval_every=0,
        ckpt_every=0,
        log_every=100,
    )
    Trainer(rm, RewardStage(train, 8, 0, seed=0), cfg, tmp_path).fit()
    assert pairwise_accuracy(rm, held, 0) >= 0.9


def test_soup_of_identical_runs_scores_like_the_run():
    rm = _rm()
    torch.nn.init.normal_(rm.score.weight, 0, 0.3)
    soup = _rm(5)
    soup.load_state_dict(average_weights([rm.state_dict(), rm.state_dict()]))
    seqs = [c for c, _ in _pairs(4)]
    torch.testing.assert_close(
        torch.tensor(score_sequences(soup, seqs, 0)), torch.tensor(score_sequences(rm, seqs, 0))
    )


def _oracle_bon(correct, scores, N):
    """Every N-subset of every prompt's samples, enumerated; ties split evenly."""
    total = 0.0
    for ok, sc in zip(correct, scores):
        subsets = list(itertools.combinations(range(len(ok)), N))
        for idx in subsets:
            top = max(sc[i] for i in idx)
            tied = [i for i in idx if sc[i] == top]
            total += sum(ok[i] for i in tied) / len(tied) / len(subsets)
    return total / len(correct)


def test_best_of_n_matches_a_brute_force_oracle():
    g = torch.Generator().manual_seed(0)
    correct = [[bool(x) for x in torch.randint(0, 2, (8,), generator=g)] for _ in range(5)]
    scores = [torch.randn(8, generator=g).tolist() for _ in range(5)]
    scores[0][3] = scores[0][5]  # a tie
    got = best_of_n(correct, scores, [1, 2, 3, 4, 8])
    for N in (1, 2, 3, 4, 8):
        assert math.isclose(got[N], _oracle_bon(correct, scores, N))
    assert got[1] == sum(itertools.chain(*correct)) / 40
    perfect = best_of_n(correct, [[float(c) for c in ok] for ok in correct], [8])
    assert math.isclose(perfect[8], sum(any(ok) for ok in correct) / 5)
    assert math.isclose(pass_at_n(correct, [8])[8], perfect[8])
