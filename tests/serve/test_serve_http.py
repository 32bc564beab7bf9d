"""The HTTP layer over a scripted fake engine: shapes, streaming, reasoning, errors, limits."""

from __future__ import annotations

import json

from conftest import PLAIN_REPLY, FakeBackend


def _events(resp) -> list:
    out = []
    for line in resp.iter_lines():
        if line.startswith("data: "):
            data = line[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_models_and_health(make_client):
    c = make_client()
    r = c.get("/v1/models")
    assert r.status_code == 200
    assert r.json()["data"][0]["id"] == "fake-model"
    assert c.get("/health").json()["status"] == "ok"


def test_chat_non_stream_plain(make_client):
    c = make_client()
    r = c.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "temperature": 0},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    msg = body["choices"][0]["message"]
    assert msg["content"] == PLAIN_REPLY and msg["reasoning_content"] is None
    assert body["usage"]["completion_tokens"] == len(PLAIN_REPLY)
    assert body["choices"][0]["finish_reason"] == "stop"


def test_chat_think_mode_splits_reasoning(make_client):
    c = make_client()
    req = {
        "messages": [{"role": "user", "content": "2+2?"}],
        "temperature": 0,
        "chat_template_kwargs": {"enable_thinking": True},
    }
    msg = c.post("/v1/chat/completions", json=req).json()["choices"][0]["message"]
    assert msg["reasoning_content"] == "คิดก่อน: 2+2"
    assert msg["content"] == "คำตอบคือ 4"
    events = _events(c.post("/v1/chat/completions", json={**req, "stream": True}))
    assert events[-1] == "[DONE]"
    deltas = [e["choices"][0]["delta"] for e in events[:-1]]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "คิดก่อน: 2+2"
    assert "".join(d.get("content", "") for d in deltas) == "คำตอบคือ 4"
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_length_and_stop(make_client):
    c = make_client()
    msgs = [{"role": "user", "content": "hi"}]
    r = c.post("/v1/chat/completions", json={"messages": msgs, "max_tokens": 3}).json()
    assert r["choices"][0]["finish_reason"] == "length"
    assert r["usage"]["completion_tokens"] == 3
    r = c.post(
        "/v1/chat/completions", json={"messages": msgs, "temperature": 0, "stop": ["!"]}
    ).json()
    assert r["choices"][0]["message"]["content"] == "Xin chào"


def test_completion_echo_logprobs_for_loglikelihood(make_client):
    """lm-eval local-completions: token-id prompts, echo, logprobs=1, max_tokens=1."""
    c = make_client()
    ids = [ord(ch) for ch in "abcd"]
    r = c.post(
        "/v1/completions",
        json={"prompt": [ids], "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0},
    )
    assert r.status_code == 200, r.text
    lp = r.json()["choices"][0]["logprobs"]
    assert lp["tokens"][:4] == ["a", "b", "c", "d"] and len(lp["tokens"]) == 5
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
    assert lp["token_logprobs"][1:4] == [-0.5, -0.51, -0.52]
    assert all(
        max(t.values()) == v for t, v in zip(lp["top_logprobs"][1:], lp["token_logprobs"][1:])
    )
    r = c.post(
        "/v1/completions", json={"prompt": "abcd", "max_tokens": 0, "echo": True, "logprobs": 0}
    )
    body = r.json()
    assert body["choices"][0]["text"] == "abcd"
    assert (
        body["usage"]["completion_tokens"] == 0
        and len(body["choices"][0]["logprobs"]["tokens"]) == 4
    )


def test_completion_batch_and_n_and_stream(make_client):
    c = make_client()
    r = c.post(
        "/v1/completions",
        json={"prompt": ["a", "b"], "n": 2, "max_tokens": 2, "temperature": 0.8, "seed": 3},
    )
    choices = r.json()["choices"]
    assert [ch["index"] for ch in choices] == [0, 1, 2, 3]
    assert choices[0]["text"] != choices[1]["text"]  # n choices with one seed still differ
    events = _events(
        c.post(
            "/v1/completions",
            json={"prompt": "a", "max_tokens": 4, "stream": True, "temperature": 0},
        )
    )
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == PLAIN_REPLY[:4]


def test_errors_name_the_field(make_client):
    c = make_client()
    cases = [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 5}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 10**6}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 99}, "n"),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "chat_template_kwargs": {"enable_thinking": "yes"},
            },
            "chat_template_kwargs.enable_thinking",
        ),
        ({"messages": [{"role": "user", "content": "x"}], "model": "gpt-9"}, "model"),
        ({}, "messages"),
    ]
    for body, param in cases:
        r = c.post("/v1/chat/completions", json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code)
        err = r.json()["error"]
        assert err["param"] == param, (body, err)
        assert err["message"] and err["type"]
    r = c.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_invalid"
    r = c.post("/v1/completions", json={"prompt": [[1, 2], [-5]]})
    assert r.status_code == 400 and r.json()["error"]["param"] in ("prompt", "prompt[1]")
    assert c.get("/v1/nothing").json()["error"]["type"] == "not_found_error"


def test_api_keys(make_client):
    c = make_client(keys={"sk-test-12345678": "alice"})
    r = c.get("/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert c.get("/v1/models", headers={"Authorization": "Bearer wrong-key"}).status_code == 401
    h = {"Authorization": "Bearer sk-test-12345678"}
    assert c.get("/v1/models", headers=h).status_code == 200
    c.post(
        "/v1/chat/completions",
        headers=h,
        json={"messages": [{"role": "user", "content": "x"}], "max_tokens": 2},
    )
    usage = c.get("/v1/usage", headers=h).json()
    assert usage["key"] == "alice" and usage["completion_tokens"] == 2
    assert c.get("/health").status_code == 200 and c.get("/").status_code == 200


def test_body_too_large_and_rate_limit(make_client):
    c = make_client(max_body_bytes=1000, rate_limit_per_min=2)
    r = c.post("/v1/completions", json={"prompt": "x" * 5000})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    ok = {"prompt": "x", "max_tokens": 1}
    assert c.post("/v1/completions", json=ok).status_code == 200
    assert c.post("/v1/completions", json=ok).status_code == 200
    r = c.post("/v1/completions", json=ok)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_prompt_too_long(make_client):
    c = make_client(max_prompt_tokens=10)
    r = c.post("/v1/completions", json={"prompt": "x" * 11})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_metrics_count_requests_and_tokens(make_client):
    c = make_client()
    c.post("/v1/completions", json={"prompt": "x", "max_tokens": 3})
    text = c.get("/metrics").text
    assert 'compass_requests_total{endpoint="/v1/completions",status="200"} 1' in text
    assert 'compass_tokens_total{key="anonymous",kind="completion"} 3' in text
    assert "compass_request_latency_seconds_count" in text


def test_stream_disconnect_aborts_generation(make_client):
    backend = FakeBackend(step_delay_s=0.01, reply="z" * 500)
    c = make_client(backend=backend, max_new_tokens=500)
    body = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 500, "stream": True}
    with c.stream("POST", "/v1/chat/completions", json=body) as r:
        for i, _ in enumerate(r.iter_lines()):
            if i > 5:
                break
    import time

    deadline = time.monotonic() + 5
    while backend.active and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not backend.active and len(backend.aborted) == 1


def test_sse_event_survives_unicode_line_breakers():
    """A random model can emit U+2028 / U+0085; str.splitlines() must not cut an event there."""
    from compass.serve.sse import sse_event

    event = sse_event({"text": "a\u2028b\u2029c\x85d\ne"})
    assert event.count("\n") == 2 and len(event.rstrip("\n").splitlines()) == 1
    assert json.loads(event[6:]) == {"text": "a\u2028b\u2029c\x85d\ne"}


def test_stream_error_becomes_an_event():
    import asyncio

    from compass.serve.sse import guarded

    async def broken():
        yield "data: {}\n\n"
        raise RuntimeError("bug")

    async def collect():
        return [e async for e in guarded(broken())]

    events = asyncio.run(collect())
    assert json.loads(events[1][6:])["error"]["type"] == "server_error"
    assert events[-1] == "data: [DONE]\n\n" and "bug" not in events[1]


def test_more_choices_than_capacity_is_400(make_client):
    c = make_client(max_concurrent=2, max_queue=1, max_n=4)
    r = c.post("/v1/completions", json={"prompt": ["a", "b"], "n": 2, "max_tokens": 1})
    assert r.status_code == 400 and r.json()["error"]["param"] == "n"


def test_chat_stream_with_n_choices(make_client):
    c = make_client()
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "n": 2,
        "stream": True,
        "temperature": 0,
    }
    events = _events(c.post("/v1/chat/completions", json=body))[:-1]
    for k in (0, 1):
        mine = [e["choices"][0] for e in events if e["choices"][0]["index"] == k]
        assert "".join(ch["delta"].get("content", "") for ch in mine) == PLAIN_REPLY
        assert mine[-1]["finish_reason"] == "stop"
