"""Prompt-prefix reuse: keys already in the cache (a freed slot's last content, or a running
request's prompt) are not recomputed, and outputs stay those of a full recomputation."""

from __future__ import annotations

from compass.inference import Engine, SamplingParams
from compass.model.generate import greedy_generate

PROMPT = list(range(100, 140))
GREEDY = SamplingParams(temperature=0, max_tokens=5)


def test_next_chat_turn_reuses_the_freed_slot(micro_model):
    e = Engine(micro_model, max_batch=2)
    first = e.generate([PROMPT], GREEDY)[0].token_ids
    turn2 = [*PROMPT, *first, 7, 8, 9]
    out = e.generate([turn2], GREEDY)[0].token_ids
    # Every fed position of turn 1 (the prompt and all but the last sampled token) is reused.
    assert e.scheduler.prefix_hit_tokens == len(PROMPT) + len(first) - 1
    assert out == greedy_generate(micro_model, turn2, 5, use_cache=False)


def test_n_samples_of_one_prompt_prefill_it_once(micro_model):
    params = [SamplingParams(temperature=1.0, seed=s, max_tokens=6) for s in range(4)]
    e = Engine(micro_model, max_batch=4)
    outs = [c.token_ids for c in e.generate([PROMPT] * 4, params)]
    assert e.scheduler.prefix_hit_tokens == 3 * (len(PROMPT) - 1)
    alone = [Engine(micro_model, max_batch=1).generate([PROMPT], p)[0].token_ids for p in params]
    assert outs == alone
    assert len({tuple(o) for o in outs}) > 1


def test_a_later_request_copies_a_running_prompt(micro_model):
    e = Engine(micro_model, max_batch=2)
    e.add_request(PROMPT, SamplingParams(temperature=0, max_tokens=20), request_id="a")
    got: dict[str, list[int]] = {"a": [o.new_token_ids[0] for o in e.step() + e.step()]}
    longer = [*PROMPT, 1, 2, 3]
    e.add_request(longer, GREEDY, request_id="b")
    while e.has_unfinished():
        for o in e.step():
            got.setdefault(o.request_id, []).extend(o.new_token_ids)
    assert e.scheduler.prefix_hit_tokens >= len(PROMPT)
    assert got["b"] == greedy_generate(micro_model, longer, 5, use_cache=False)
    assert got["a"] == greedy_generate(micro_model, PROMPT, 20, use_cache=False)
