"""Packing: a packed batch computes what its samples compute one by one, with less padding."""

import torch

from compass.model import CompassModel
from compass.posttrain.sft.config import SFTStageConfig
from compass.posttrain.sft.packing import IGNORE, first_fit_rows, pack, pad_each
from compass.posttrain.sft.stage import SFTStage
from compass.recipes import get_recipe


def _samples(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        L = int(torch.randint(6, 40, (1,), generator=g))
        ids = torch.randint(3, 1000, (L,), generator=g).tolist()
        prompt = int(torch.randint(2, L - 2, (1,), generator=g))
        out.append((ids, [0] * prompt + [1] * (L - prompt)))
    return out


def test_labels_cover_assistant_tokens_only():
    b = pack([([5, 6, 7, 8], [0, 0, 1, 1])], seq_len=8, pad_id=0, bucket=4)
    assert b.labels_BT[0, :4].tolist() == [IGNORE, 7, 8, IGNORE]


def test_first_fit_respects_seq_len_and_keeps_every_sample():
    lengths = [30, 20, 10, 25, 5, 40]
    rows = first_fit_rows(lengths, 50)
    assert sorted(i for r in rows for i in r) == list(range(6))
    assert all(sum(lengths[i] for i in r) <= 50 for r in rows)


def _sft_loss(model, samples):
    """The SFT step's loss (summed over supervised tokens) and its token count, on one packed
    batch of ``samples``."""
    stage = SFTStage("sft", samples, [], SFTStageConfig(seq_len=96), pad_id=0, seed=0)
    batch = stage._collate(samples)
    with torch.no_grad():
        loss = stage.loss(model, batch).loss_sum
    return float(loss), stage.loss_units(batch)


def test_packed_loss_equals_one_by_one_and_raises_real_token_share():
    torch.manual_seed(0)
    model = CompassModel(get_recipe("micro").model)
    model.init_weights(0)
    samples = _samples()
    packed = pack(samples, seq_len=96, pad_id=0)
    loss_packed, n_packed = _sft_loss(model, samples)
    total, count = 0.0, 0
    for s in samples:
        loss, n = _sft_loss(model, [s])
        total += loss
        count += n
    assert n_packed == count
    assert abs(loss_packed / n_packed - total / count) <= 1e-5
    assert packed.real_token_share > pad_each(samples, pad_id=0).real_token_share
