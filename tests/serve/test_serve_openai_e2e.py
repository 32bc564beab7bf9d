"""The official ``openai`` client against a live server running the real engine (micro model)."""

from __future__ import annotations

import math

import httpx
import openai
import pytest
import torch
from conftest import E2E_KEY


@pytest.fixture
def client(live_server):
    url, _ = live_server
    return openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY, max_retries=0, timeout=60)


THINK = {"chat_template_kwargs": {"enable_thinking": True}}
MSGS = [{"role": "user", "content": "ขอบคุณค่ะ มีไซส์ใหญ่ไหม?"}]


def test_models(client):
    assert [m.id for m in client.models.list().data] == ["micro"]


def test_chat_stream_equals_non_stream_greedy(client):
    full = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=12, temperature=0
    )
    assert full.usage.completion_tokens == 12 and full.choices[0].finish_reason == "length"
    stream = client.chat.completions.create(
        model="micro",
        messages=MSGS,
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    content, usage, finish = "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            content += ch.delta.content or ""
            finish = ch.finish_reason or finish
    assert content == full.choices[0].message.content
    assert usage.completion_tokens == 12 and finish == "length"


def test_think_mode_reasoning_content(client):
    """The template opens <think> in deep mode, so a random model's output is reasoning."""
    r = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=10, temperature=0, extra_body=THINK
    )
    msg = r.choices[0].message
    assert msg.reasoning_content and msg.content == ""
    stream = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=10, temperature=0, stream=True, extra_body=THINK
    )
    reasoning = "".join(
        getattr(ch.delta, "reasoning_content", None) or "" for c in stream for ch in c.choices
    )
    assert reasoning == msg.reasoning_content
    fast = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=10, temperature=0
    )
    assert getattr(fast.choices[0].message, "reasoning_content", None) is None


def test_sampling_seed_reproducible(client):
    kw = dict(
        model="micro",
        messages=MSGS,
        max_tokens=8,
        temperature=1.0,
        top_p=0.9,
        seed=7,
        extra_body={"top_k": 50, "repetition_penalty": 1.1},
    )
    a = client.chat.completions.create(**kw).choices[0].message.content
    b = client.chat.completions.create(**kw).choices[0].message.content
    assert a == b


def test_echo_logprobs_match_a_plain_forward(client, engine_backend):
    """lm-eval's loglikelihood request, checked against log_softmax of one full forward."""
    ids = engine_backend.encode("Free shipping on all orders")
    r = client.completions.create(
        model="micro", prompt=[ids], max_tokens=1, echo=True, logprobs=1, temperature=0
    )
    lp = r.choices[0].logprobs
    assert len(lp.token_logprobs) == len(ids) + 1 and lp.token_logprobs[0] is None
    model = engine_backend.engine.model
    with torch.no_grad():
        ref = torch.log_softmax(model(torch.tensor([ids])).logits_BTV[0].float(), -1)
    for t in range(1, len(ids)):
        assert math.isclose(lp.token_logprobs[t], float(ref[t - 1, ids[t]]), abs_tol=1e-4)
        assert math.isclose(max(lp.top_logprobs[t].values()), float(ref[t - 1].max()), abs_tol=1e-4)
    r0 = client.completions.create(
        model="micro", prompt="Free shipping", max_tokens=0, echo=True, logprobs=0
    )
    assert r0.choices[0].text == "Free shipping" and r0.usage.completion_tokens == 0


def test_completions_text_and_stream(client):
    r = client.completions.create(model="micro", prompt="Xin chào", max_tokens=5, temperature=0)
    s = client.completions.create(
        model="micro", prompt="Xin chào", max_tokens=5, temperature=0, stream=True
    )
    assert "".join(c.choices[0].text for c in s if c.choices) == r.choices[0].text
    assert r.usage.completion_tokens == 5


def test_errors_through_the_client(live_server, client):
    url, _ = live_server
    bad = openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.models.list()
    assert e.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="micro", messages=MSGS, temperature=9)
    assert e.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="micro", prompt="x" * 2000, max_tokens=1)
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.APIStatusError) as e:
        client.completions.create(model="micro", prompt="x" * 300_000, max_tokens=1)
    assert e.value.status_code == 413


def test_disconnect_frees_kv_cache(live_server, engine_backend):
    url, app = live_server
    body = {"model": "micro", "messages": MSGS, "max_tokens": 64, "stream": True}
    headers = {"Authorization": f"Bearer {E2E_KEY}"}
    with httpx.stream(
        "POST", url + "/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as r:
        for i, _ in enumerate(r.iter_lines()):
            if i > 2:
                break
    import time

    engine = engine_backend.engine
    deadline = time.monotonic() + 10
    while (
        engine.has_unfinished() or app.state.service.loop.num_running
    ) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not engine.has_unfinished()
    assert engine.cache.num_free == engine.cache.n_slots


def test_chat_logprobs(client):
    r = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=4, temperature=0, logprobs=True, top_logprobs=3
    )
    content = r.choices[0].logprobs.content
    assert len(content) == 4
    for entry in content:
        assert len(entry.top_logprobs) == 3
        # greedy: the chosen token is the most likely one
        assert math.isclose(entry.logprob, entry.top_logprobs[0].logprob, abs_tol=1e-5)


def test_queue_full_is_rate_limit_error(engine_backend):
    """One generation slot, no queue: a second request while the first streams gets 429."""
    from compass.serve.app import create_app
    from compass.serve.config import ServeConfig
    from compass.serve.server import BackgroundServer

    app = create_app(engine_backend, ServeConfig(max_concurrent=1, max_queue=0, max_new_tokens=200))
    with BackgroundServer(app) as url:
        c = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        first = c.chat.completions.create(model="micro", messages=MSGS, max_tokens=200, stream=True)
        next(iter(first))
        with pytest.raises(openai.RateLimitError) as e:
            c.chat.completions.create(model="micro", messages=MSGS, max_tokens=4)
        assert e.value.response.headers["retry-after"] == "1"
        first.close()


def test_extreme_sampling_values_do_not_poison_the_batch(client):
    """temperature 1e-300 overflows the engine's softmax: the server treats it as greedy."""
    greedy = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=4, temperature=0
    )
    tiny = client.chat.completions.create(
        model="micro", messages=MSGS, max_tokens=4, temperature=1e-300
    )
    assert tiny.choices[0].message.content == greedy.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="micro", messages=MSGS, max_tokens=4, extra_body={"repetition_penalty": 1e-300}
        )
    assert e.value.body["param"] == "repetition_penalty"


def test_stop_string_on_the_real_engine(client):
    full = client.completions.create(model="micro", prompt="Xin chào", max_tokens=12, temperature=0)
    text = full.choices[0].text
    stop = text.strip()[len(text.strip()) // 2 :][:2]
    assert stop
    cut = client.completions.create(
        model="micro", prompt="Xin chào", max_tokens=12, temperature=0, stop=[stop]
    )
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == text[: text.index(stop)]
