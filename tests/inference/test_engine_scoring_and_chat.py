"""Log-likelihood scoring against a full forward, and chat with the reasoning split."""

from __future__ import annotations

import pytest
import torch

from compass.inference import Engine, SamplingParams
from compass.inference.reasoning import ThinkSplitter, split_think_text
from compass.model.generate import greedy_generate


def test_score_equals_full_forward_and_detects_greedy(micro_model):
    e = Engine(micro_model, max_batch=2)
    prompt = [3, 14, 15, 92, 65]
    greedy = greedy_generate(micro_model, prompt, 4, use_cache=False)
    other = [(greedy[0] + 1) % 1024, *greedy[1:]]
    with torch.no_grad():
        lp_TV = torch.log_softmax(micro_model(torch.tensor([prompt + other])).logits_BTV[0], -1)
    want = sum(float(lp_TV[len(prompt) - 1 + j, t]) for j, t in enumerate(other))
    (s_other, g_other), (_, g_greedy) = e.score_batch([(prompt, other), (prompt, greedy)])
    assert s_other == pytest.approx(want, abs=1e-4)
    assert g_greedy and not g_other
    assert e.score(prompt, other)[0] == pytest.approx(want, abs=1e-4)
    echo = e.prompt_logprobs(prompt + other, top_n=2)
    assert echo[0] is None
    assert echo[-1].logprob == pytest.approx(float(lp_TV[-2, other[-1]]), abs=1e-4)
    with pytest.raises(ValueError, match="context holds"):
        e.score(list(range(300)), [1])


@pytest.mark.parametrize("thinking", [True, False])
def test_chat_separates_reasoning_from_content(scripted, byte_tok, thinking):
    messages = [{"role": "user", "content": "2+2?"}]
    prompt, _ = byte_tok.render_chat(messages, enable_thinking=thinking)
    if thinking:  # the template opened the block: the model writes reasoning, </think>, answer
        script = [*byte_tok.encode("two plus two\n</think>\n\n4"), 260]
    else:
        script = [*byte_tok.encode("4"), 260]
    e = Engine(scripted(script, len(prompt)), byte_tok, max_batch=2)
    e.eos_ids.add(260)  # <|im_end|> ends the turn
    params = SamplingParams(temperature=0, max_tokens=64, enable_thinking=thinking)
    out = e.chat(messages, params)
    assert out.content == "4"
    assert out.reasoning_content == ("two plus two" if thinking else None)
    deltas = list(e.stream_chat(messages, params))
    assert "".join(d.content for d in deltas) == "4"
    assert "".join(d.reasoning for d in deltas) == ("two plus two\n" if thinking else "")
    assert deltas[-1].finished and deltas[-1].finish_reason == "stop"


def test_think_splitter_from_start_token_and_text_fallback(byte_tok):
    s = ThinkSplitter(byte_tok, prompt_ids=[1, 2])
    ids = [byte_tok.think_start_id, *byte_tok.encode("hmm"), byte_tok.think_end_id]
    ids += byte_tok.encode("\nok")
    r, c = s.feed(ids)
    assert (r, c) == ("hmm", "ok") and s.result() == ("hmm", "ok")
    assert split_think_text("<think>\nwhy\n</think>\n\nbecause") == ("why", "because")
    assert split_think_text("plain") == (None, "plain")
    assert split_think_text("<think>unfinished") == ("unfinished", "")


def test_score_batch_shares_prompts_of_different_lengths(micro_model):
    """Prompts of several lengths in one batch, each with one- and many-token continuations:
    every score equals its own full forward (the prefill's padding never leaks into a row)."""
    e = Engine(micro_model, max_batch=2)
    prompts = [[5, 6, 7], [8, 9, 10, 11, 12, 13, 14], [15]]
    conts = [[1], [2, 3, 4], [20, 21]]
    pairs = [(p, c) for p in prompts for c in conts]
    got = e.score_batch(pairs, batch_size=2)
    for (p, c), (score, _) in zip(pairs, got):
        with torch.no_grad():
            lp_TV = torch.log_softmax(micro_model(torch.tensor([p + c])).logits_BTV[0], -1)
        want = sum(float(lp_TV[len(p) - 1 + j, t]) for j, t in enumerate(c))
        assert score == pytest.approx(want, abs=1e-4)
