"""The verifier warm-up's generated chains (all right) and the reward
stage's LM anchor against a plain oracle (the Bradley–Terry sum + per-sample NLL, unpacked)."""

import json
import math
from collections import Counter

import torch
import torch.nn.functional as F

from compass.data.synth.tasks.cart import cart_problems
from compass.data.synth.tasks.produce import generated_solutions
from compass.model import CompassModel
from compass.posttrain.reward.model import RewardModel
from compass.posttrain.reward.stage import RewardStage
from compass.posttrain.scoring import score_sequences
from compass.recipes import get_recipe


def test_generated_solutions_are_right_deep_mode_chains_outside_the_excluded_prompts():
    taken = {pr.question for pr in cart_problems("id", 3, 5, "verifier", set())}
    out = generated_solutions(["en", "id"], 7, 5, taken)
    assert len(out) == 7 and Counter(s["lang"] for s in out) == {"en": 4, "id": 3}
    for s in out:
        user, reply = s["messages"]
        assert s["long_cot"] and user["content"] not in taken
        steps = reply["reasoning_content"].split("\n")
        # every step's result is the arithmetic of its operands, and the answer states the last
        for step in steps:
            lhs, result = step.split(" = ")
            a, op, b = lhs.split(" ")
            assert (
                int(result)
                == {"×": int(a) * int(b), "+": int(a) + int(b), "-": int(a) - int(b)}[op]
            )
        assert steps[-1].split(" = ")[1] in reply["content"].replace(".00", "")


def _rm():
    torch.manual_seed(0)
    m = CompassModel(get_recipe("micro").model)
    m.init_weights(0)
    rm = RewardModel(m, head_seed=3, think_ids=(5, 6), lp_scale=(4.0, 1.0))
    return rm.eval()


def test_lm_anchor_loss_is_bradley_terry_plus_lm_coef_times_the_solutions_nll():
    rm = _rm()
    assert rm.lp_scale.tolist() == [4.0, 1.0]
    g = torch.Generator().manual_seed(1)
    pairs = [
        ([5, *torch.randint(20, 900, (6,), generator=g).tolist(), t], [5, 30, 40, u])
        for t, u in ((7, 9), (11, 12), (13, 14))
    ]
    rows = []
    for n in (9, 5, 12, 7):
        ids = torch.randint(20, 900, (n,), generator=g).tolist()
        rows.append((ids, [0] * 3 + [1] * (n - 3)))  # loss on all but a 3-token prompt
    stage = RewardStage(pairs, 3, 0, seed=2, lm_rows=rows, lm_batch=3, lm_coef=0.5, lm_seq_len=32)
    batch = stage.next_batch()
    out = stage.loss(rm, batch)
    # oracle: BT from scoring each sequence alone, NLL from each picked solution alone
    s = score_sequences(rm, [c for c, _ in pairs] + [r for _, r in pairs], 0)
    bt = sum(math.log1p(math.exp(-(s[i] - s[3 + i]))) for i in range(3))
    picked = [rows[i] for i in stage.lm_epochs._order[:3]]
    tot, n_tok = 0.0, 0
    with torch.no_grad():
        for ids, mask in picked:
            logits = rm.backbone(torch.tensor([ids])).logits_BTV[0, :-1]
            target = torch.tensor(ids[1:])
            keep = torch.tensor(mask[1:]).bool()
            tot += float(F.cross_entropy(logits[keep], target[keep], reduction="sum"))
            n_tok += int(keep.sum())
    expected = bt + 0.5 * (tot / n_tok) * 3
    assert math.isclose(float(out.loss_sum.detach()), expected, rel_tol=1e-4)
    assert math.isclose(out.metrics["lm_nll"], tot / n_tok, rel_tol=1e-4)


def test_lm_anchor_position_resumes_exactly():
    rows = [([20 + i, 30, 40, 50], [0, 1, 1, 1]) for i in range(5)]
    pairs = [([5, 7], [5, 9]), ([5, 8], [5, 10])]
    a = RewardStage(pairs, 1, 0, seed=3, lm_rows=rows, lm_batch=2, lm_coef=1.0)
    for _ in range(3):
        a.next_batch()
    b = RewardStage(pairs, 1, 0, seed=3, lm_rows=rows, lm_batch=2, lm_coef=1.0)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    x, y = a.next_batch(), b.next_batch()
    assert all(torch.equal(x[k], y[k]) for k in x)
    off = RewardStage(pairs, 1, 0, seed=3, lm_rows=rows, lm_batch=2, lm_coef=0.0)
    assert "lm_input_ids" not in off.next_batch()  # coefficient 0: no anchor rows at all
