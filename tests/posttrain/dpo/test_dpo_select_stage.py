"""Pair selection rules, response labels and log-probs against a plain per-token oracle, the DPO
stage's loss at the reference, and DPO training moving the policy towards the chosen answer."""

import math

import pytest
import torch

from compass.model import CompassModel
from compass.posttrain.batching import packed_response_rows
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.dpo.select import Candidate, select_pair
from compass.posttrain.dpo.stage import DPOPair, DPOStage
from compass.posttrain.sampling import Sample
from compass.posttrain.scoring import response_logprobs
from compass.posttrain.sft.packing import IGNORE
from compass.recipes import get_recipe
from compass.train.config import TrainConfig
from compass.train.loop import Trainer

MATH = {
    "set": "math",
    "lang": "id",
    "answer": "Rp 100.000",
    "answer_minor": 100000,
    "currency": "IDR",
}


def _c(text, reward, tid, on_language=True):
    return Candidate(Sample([1, 2], [tid, 5], text, "stop"), reward, on_language)


def test_math_pair_is_best_correct_vs_best_incorrect():
    cands = [
        _c("Jawaban: Rp 100.000", 0.1, 10),
        _c("Jawaban: Rp 100.000", 0.7, 11),
        _c("Jawaban: Rp 90.000", 0.9, 12),
        _c("Jawaban: Rp 80.000", 0.2, 13),
    ]
    chosen, rejected = select_pair(MATH, cands, DPOConfig())
    assert (chosen.reward, rejected.reward) == (0.7, 0.9)  # correctness beats reward


@pytest.mark.parametrize(
    "prompt,texts,reason",
    [
        (MATH, ["Jawaban: Rp 1", "Jawaban: Rp 2"], "no correct answer"),
        (MATH, ["Jawaban: Rp 100.000"] * 2, "no incorrect answer"),
        (MATH, ["Jawaban: Rp 100.000", "  ", ""], "fewer than two non-empty answers"),
    ],
)
def test_math_prompts_without_a_pair_say_why(prompt, texts, reason):
    cands = [_c(t, float(i), 20 + i) for i, t in enumerate(texts)]
    assert select_pair(prompt, cands, DPOConfig()) == reason


def test_general_rules():
    gen = {"set": "general", "lang": "en"}
    cands = [_c("a", 0.0, 1), _c("b", 0.5, 2), _c("c", 0.6, 3), _c("d", 1.0, 4, on_language=False)]
    c, r = select_pair(gen, cands, DPOConfig(general_rule="max_min"))
    assert (c.reward, r.reward) == (0.6, 0.0)  # the off-language top answer is never chosen
    c, r = select_pair(gen, cands, DPOConfig(general_rule="max_median"))
    assert (c.reward, r.reward) == (0.6, 0.5)
    assert c.reward == 0.6
    close = [_c("a", 0.50, 1), _c("b", 0.52, 2)]
    assert select_pair(gen, close, DPOConfig(min_margin=0.05)) == "reward margin below min_margin"
    same = [Candidate(Sample([1], [4, 5], "x", "stop"), v) for v in (0.0, 1.0)]
    assert select_pair(gen, same, DPOConfig()) == "chosen equals rejected"
    off = [_c("a", 0.0, 1, False), _c("b", 1.0, 2, False)]
    assert select_pair(gen, off, DPOConfig()) == "no answer in the prompt's language"


def _model(seed=0):
    torch.manual_seed(seed)
    m = CompassModel(get_recipe("micro").model)
    m.init_weights(seed)
    return m


def test_response_logprobs_match_a_per_token_oracle():
    m = _model().eval()
    prompts, responses = [[5, 6, 7], [8, 9]], [[10, 11], [12, 13, 14, 15]]
    rows = packed_response_rows(prompts, responses)
    assert rows["labels"][0].tolist() == [
        IGNORE,
        IGNORE,
        10,
        11,
        IGNORE,
        IGNORE,
        12,
        13,
        14,
        15,
        IGNORE,
    ]
    assert rows["positions"][0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5]
    got = response_logprobs(m, prompts, responses)
    for p, r, g in zip(prompts, responses, got):
        with torch.no_grad():
            lp = torch.log_softmax(m(torch.tensor([p + r])).logits_BTV[0].float(), -1)
        want = sum(float(lp[len(p) - 1 + k, t]) for k, t in enumerate(r))
        assert math.isclose(g, want, rel_tol=1e-4, abs_tol=1e-4)


def _pairs(m):
    prompts = [[5, 6, 7], [8, 9, 10, 11]]
    pairs = [DPOPair(p, [20, 21, 2], [30, 31, 2]) for p in prompts]
    lp = response_logprobs(
        m,
        [p.prompt_ids for p in pairs] * 2,
        [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs],
    )
    for i, p in enumerate(pairs):
        p.ref_chosen, p.ref_rejected = lp[i], lp[2 + i]
    return pairs


def test_loss_at_the_reference_is_log_2_per_pair():
    m = _model()
    stage = DPOStage(_pairs(m), 2, beta=0.1, seed=0)
    batch = stage.next_batch()
    m.eval()
    out = stage.loss(m, batch)
    assert math.isclose(float(out.loss_sum.detach()), 2 * math.log(2), rel_tol=1e-4)
    assert stage.loss_units(batch) == 2


def test_loss_at_the_reference_adds_the_chosen_per_token_nll():
    m = _model()
    pairs = _pairs(m)
    pairs[0].verified = True  # only a verified chosen answer gets the NLL term
    stage = DPOStage(pairs, 2, beta=0.1, seed=0, nll_alpha=0.5)
    m.eval()
    out = stage.loss(m, stage.next_batch())
    nll = -pairs[0].ref_chosen / len(pairs[0].chosen_ids)
    assert math.isclose(float(out.loss_sum.detach()), 2 * math.log(2) + 0.5 * nll, rel_tol=1e-4)
    both = sum(-p.ref_chosen / len(p.chosen_ids) for p in pairs)  # the diagnostic: every pair
    assert math.isclose(out.metrics["chosen_nll"], both / 2, rel_tol=1e-4)


def test_dpo_training_raises_the_chosen_margin(tmp_path):
    m = _model()
    pairs = _pairs(m)
    cfg = TrainConfig(
        steps=6,
        micro_batch_size=2,
        lr=3e-3,
        min_lr=3e-3,
        warmup_steps=0,
        lr_schedule="constant",
        eval_every=0,
        ckpt_every=0,
        log_every=100,
    )
    Trainer(m, DPOStage(pairs, 2, beta=0.1, seed=0), cfg, tmp_path).fit()
    after = response_logprobs(
        m,
        [p.prompt_ids for p in pairs] * 2,
        [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs],
    )
    for i, p in enumerate(pairs):
        margin = (after[i] - p.ref_chosen) - (after[2 + i] - p.ref_rejected)
        assert margin > 0.5


def test_verifiable_prompts_are_posed_in_each_mode_unless_they_set_one():
    from compass.config import ConfigError
    from compass.posttrain.dpo.run import with_modes

    prompts = [
        {**MATH, "prompt": "q1"},
        {"lang": "en", "prompt": "q2"},
        {**MATH, "prompt": "q3", "enable_thinking": True},
    ]
    got = with_modes(prompts, ["fast", "deep"])
    assert [(p["prompt"], p["enable_thinking"]) for p in got] == [
        ("q1", False),
        ("q1", True),
        ("q2", False),
        ("q3", True),
    ]
    assert [p["enable_thinking"] for p in with_modes(prompts, ["deep"])] == [True, False, True]
    for bad in ([], ["slow"]):
        with pytest.raises(ConfigError, match="math_modes"):
            DPOConfig(math_modes=bad).validate()
    with pytest.raises(ConfigError, match="nll_alpha"):
        DPOConfig(nll_alpha=-1).validate()
