"""Admission, draining and the reasoning splitter, over the fake engine on a live server."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
from conftest import FakeBackend

from compass.inference.reasoning import ThinkSplitter
from compass.serve.app import create_app
from compass.serve.backend import Delta
from compass.serve.config import ServeConfig
from compass.serve.server import BackgroundServer

CHAT = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 40}


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cond()


def test_queue_full_is_429_with_retry_after():
    backend = FakeBackend(step_delay_s=0.02, reply="z" * 40)
    app = create_app(backend, ServeConfig(max_concurrent=1, max_queue=1, retry_after_s=3))
    with BackgroundServer(app) as url:
        results = []

        def call():
            results.append(
                httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=30).status_code
            )

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        loop = app.state.service.loop
        _wait(lambda: loop.num_running == 1 and loop.num_waiting == 1)
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=30)
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert r.json()["error"]["code"] == "queue_full"
        for t in threads:
            t.join()
        assert results == [200, 200]


def test_drain_finishes_in_flight_and_refuses_new():
    backend = FakeBackend(step_delay_s=0.02, reply="z" * 40)
    app = create_app(backend, ServeConfig())
    server = BackgroundServer(app)
    with server as url:
        result = {}

        def call():
            result["r"] = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=30)

        t = threading.Thread(target=call)
        t.start()
        _wait(lambda: app.state.service.loop.num_running == 1)
        server.begin_drain()
        _wait(lambda: app.state.service.state.draining)
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=30)
        assert r.status_code == 503 and r.json()["error"]["type"] == "service_unavailable"
        t.join()
        assert result["r"].status_code == 200
        assert result["r"].json()["usage"]["completion_tokens"] == 40
        _wait(lambda: not server.thread.is_alive())  # the drain ends the server by itself


def test_request_timeout_is_504_and_cancels():
    backend = FakeBackend(step_delay_s=0.02, reply="z" * 200)
    app = create_app(backend, ServeConfig(request_timeout_s=0.2, max_new_tokens=200))
    with BackgroundServer(app) as url:
        r = httpx.post(url + "/v1/chat/completions", json={**CHAT, "max_tokens": 200}, timeout=30)
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        _wait(lambda: not backend.active)
        assert len(backend.aborted) == 1


def test_think_split_holds_for_every_cut_between_deltas(fake_backend):
    ids = fake_backend.encode("<think>plan A</think>\nanswer")
    for cut in range(1, len(ids)):
        parser = fake_backend.reasoning_parser([1], True, [])
        parts = [
            parser.feed(Delta("r", ids[:cut], "")),
            parser.feed(Delta("r", ids[cut:], "", finished=True)),
            parser.flush(),
        ]
        assert "".join(p[0] for p in parts) == "plan A", cut
        assert "".join(p[1] for p in parts) == "answer", cut


def test_think_split_of_a_block_the_template_opened_and_of_plain_text(fake_backend):
    enc = fake_backend.encode
    sp = ThinkSplitter(fake_backend, enc("prompt<think>"))
    sp.feed(enc("opened by template</think>ok"))
    assert sp.result() == ("opened by template", "ok")
    sp = ThinkSplitter(fake_backend, enc("prompt"))
    sp.feed(enc("no tags here"))
    assert sp.result() == (None, "no tags here")
    sp = ThinkSplitter(fake_backend, enc("prompt<think>"))
    sp.feed(enc("still thinking"))
    assert sp.result() == ("still thinking", "")


def test_non_stream_disconnect_cancels_generation():
    backend = FakeBackend(step_delay_s=0.02, reply="z" * 300)
    app = create_app(backend, ServeConfig(max_new_tokens=300))
    with BackgroundServer(app) as url:
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(url + "/v1/chat/completions", json={**CHAT, "max_tokens": 300}, timeout=0.3)
        _wait(lambda: len(backend.aborted) == 1)
        assert not backend.active and app.state.service.loop.cancelled == 1
