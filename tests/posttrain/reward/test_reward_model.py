"""Reward model: the score is read at the last real token; pairwise loss; weight averaging."""

import math

import torch

from compass.model import CompassModel
from compass.posttrain.reward.model import RewardModel, average_weights, bradley_terry_loss
from compass.recipes import get_recipe


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


def test_score_is_the_head_on_the_backbone_hidden_state_at_the_last_token():
    """Oracle: the full backbone forward (LM head everywhere), hidden state at the last real
    token of each right-padded row, dotted with the head."""
    rm = _rm(1)
    lengths = [5, 9, 7]
    ids = torch.randint(3, 1000, (3, 9))
    mask = (torch.arange(9)[None] < torch.tensor(lengths)[:, None]).long()
    reward, _ = rm(ids, mask)
    with torch.no_grad():
        h = rm.backbone(ids, attention_mask_BT=mask, return_hidden=True).hidden_BTD
    want = torch.stack([h[i, n - 1] @ rm.score.weight[0] for i, n in enumerate(lengths)])
    torch.testing.assert_close(reward, want, rtol=1e-5, atol=1e-5)


def test_seeded_head_is_shared_across_runs_and_nonzero():
    a, b = _rm(0), _rm(1)
    a, b = RewardModel(a.backbone, head_seed=7), RewardModel(b.backbone, head_seed=7)
    torch.testing.assert_close(a.score.weight, b.score.weight, rtol=0, atol=0)
    assert a.score.weight.abs().sum() > 0
    assert not torch.equal(a.score.weight, RewardModel(a.backbone, head_seed=8).score.weight)
    assert RewardModel(a.backbone).score.weight.abs().sum() == 0


def test_likelihood_term_matches_a_per_token_oracle():
    """Oracle: for each row, the mean of log p(token) over the tokens after the row's last
    <think> (5), weighted by the deep scale when its think block (ended by 6) holds more than
    one token or is left open, else by the fast scale, plus the head on the last hidden state."""
    rm = _rm(2)
    rm = RewardModel(rm.backbone, head_seed=3, think_ids=(5, 6)).eval()
    with torch.no_grad():
        rm.lp_scale.copy_(torch.tensor([0.7, -0.3]))
    rows = [
        [9, 5, 11, 12, 13, 6, 14],  # reasoning (3 tokens): deep scale
        [5, 20, 6, 5, 21, 6, 23, 24],  # last block holds one token (empty, fast mode): fast scale
        [30, 31, 32, 33],  # no think block: no term
        [40, 5, 41, 42, 43],  # a block left open (cut off mid-thought): deep scale
    ]
    ids = torch.zeros(4, 8, dtype=torch.long)
    mask = torch.zeros(4, 8, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
    reward, _ = rm(ids, mask)
    with torch.no_grad():
        out = rm.backbone(ids, attention_mask_BT=mask, return_hidden=True)
    want = []
    for i, r in enumerate(rows):
        head = float(out.hidden_BTD[i, len(r) - 1] @ rm.score.weight[0].detach())
        starts = [t for t, x in enumerate(r) if x == 5]
        if not starts:
            want.append(head)
            continue
        start = starts[-1]
        end = next((t for t in range(start + 1, len(r)) if r[t] == 6), None)
        scale = 0.7 if end is None or end - start > 2 else -0.3
        lp = torch.log_softmax(out.logits_BTV[i], -1)
        terms = [float(lp[t, r[t + 1]]) for t in range(start, len(r) - 1)]
        want.append(head + scale * sum(terms) / len(terms))
    torch.testing.assert_close(reward, torch.tensor(want), rtol=1e-5, atol=1e-5)


def test_fast_and_deep_replies_from_the_chat_template_take_their_own_scale(micro_artifacts):
    """The template's empty think block (fast mode) is one token; a reasoning is more."""
    from compass.posttrain.reward.model import reasoning_logprob
    from compass.posttrain.reward.stage import encode_response, pad_rows
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(micro_artifacts["tokenizer"])
    fast = encode_response(tok, "2 + 3?", "5")
    deep = encode_response(tok, "2 + 3?", "5", "2 + 3 = 5")
    ids, mask = pad_rows([fast, deep], tok.pad_id)
    logits = torch.zeros(2, ids.shape[1], int(ids.max()) + 1)
    _, deep_B = reasoning_logprob(logits, ids, mask, tok.think_start_id, tok.think_end_id)
    assert deep_B.tolist() == [False, True]
