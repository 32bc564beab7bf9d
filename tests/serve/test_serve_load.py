"""A short load run on the real engine: every request is answered or cleanly refused with 429,
nothing is left running, every KV-cache slot comes back. The long run is bench/serve_load.py."""

from __future__ import annotations

import asyncio

import httpx

from compass.serve.app import create_app
from compass.serve.config import ServeConfig
from compass.serve.server import BackgroundServer


async def _fire(url: str, n: int, concurrency: int) -> list[int]:
    sem = asyncio.Semaphore(concurrency)
    body = {
        "messages": [{"role": "user", "content": "Xin chào"}],
        "max_tokens": 8,
        "temperature": 0.7,
    }

    async def one(client: httpx.AsyncClient, i: int) -> int:
        async with sem:
            stream = i % 2 == 0
            r = await client.post(
                url + "/v1/chat/completions", json={**body, "stream": stream, "seed": i}
            )
            if r.status_code == 200 and stream:
                assert r.text.rstrip().endswith("data: [DONE]"), r.text[-200:]
            return r.status_code

    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(one(client, i) for i in range(n)))


def test_short_load_no_server_errors(engine_backend):
    app = create_app(engine_backend, ServeConfig(max_concurrent=4, max_queue=2, max_new_tokens=16))
    with BackgroundServer(app) as url:
        codes = asyncio.run(_fire(url, 48, 12))
        metrics = httpx.get(url + "/metrics").text
    assert set(codes) <= {200, 429}, codes
    assert codes.count(200) >= 4
    engine = engine_backend.engine
    assert not engine.has_unfinished() and engine.cache.num_free == engine.cache.n_slots
    served = (
        f'compass_requests_total{{endpoint="/v1/chat/completions",status="200"}} {codes.count(200)}'
    )
    assert served in metrics
