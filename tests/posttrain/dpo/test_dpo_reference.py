"""The reference solution as a chosen candidate: rendered in the prompt's mode exactly as the
chat template renders an SFT answer, starting with the prompt ids the policy was sampled from."""

import torch
from torch import nn

from compass.data.synth.tasks.cart import cart_problems, eval_item
from compass.posttrain.answers import check_answer
from compass.posttrain.dpo.reference import reference_answer, reference_candidate
from compass.posttrain.sampling import chat_prompt_ids


class _LengthRM(nn.Module):
    """Reward = sequence length: enough to see that the candidate was scored."""

    def forward(self, ids, mask):
        return mask.sum(-1).float(), torch.zeros(())


def _prompt(deep: bool) -> dict:
    item = eval_item(cart_problems("en", 1, 5, "ref-test", set())[0], 0)
    keys = ("prompt", "lang", "answer", "answer_minor", "currency", "solution")
    return {**{k: item[k] for k in keys}, "set": "math", "thinking": deep}


def test_reference_candidate_in_fast_and_deep_mode(micro_artifacts):
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(micro_artifacts["tokenizer"])
    for deep in (False, True):
        p = _prompt(deep)
        c = reference_candidate(tok, p, _LengthRM())
        assert c is not None and check_answer(c.sample.text, p)
        assert c.sample.prompt_ids == chat_prompt_ids(tok, p["prompt"], deep)
        assert c.sample.token_ids[-1] == tok.im_end_id
        assert c.reward == len(c.sample.prompt_ids) + len(c.sample.token_ids)
        body = tok.decode(c.sample.token_ids, skip_special=True)
        assert reference_answer(p) in body
        assert (p["solution"].split("\n")[0] in body) == deep  # steps only in deep mode
    assert reference_candidate(tok, {**_prompt(True), "solution": ""}, _LengthRM()) is None
    assert reference_candidate(tok, {**_prompt(False), "answer": ""}, _LengthRM()) is None
