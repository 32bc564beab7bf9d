"""Server-sent events: merging a request's choice streams, timeouts and in-stream errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

from compass.serve.backend import Delta
from compass.serve.errors import APIError

log = logging.getLogger(__name__)

# Valid inside JSON strings, but str.splitlines() and some SSE readers break lines on them.
_LINE_BREAKERS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def sse_event(obj: dict) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False).translate(_LINE_BREAKERS)}\n\n"


async def sse_stream(
    service, started: list[tuple[str, asyncio.Queue]]
) -> AsyncIterator[tuple[int, Delta]]:
    """(choice index, delta) from every choice as they arrive, under the request timeout.

    Leaving early (client gone, error, timeout) cancels every choice still generating.
    """
    merged: asyncio.Queue = asyncio.Queue()

    async def pump(i: int, rid: str, q: asyncio.Queue) -> None:
        try:
            async for d in service.deltas(rid, q):
                merged.put_nowait((i, d))
            merged.put_nowait((i, None))
        except Exception as e:
            merged.put_nowait((i, e))

    tasks = [asyncio.create_task(pump(i, rid, q)) for i, (rid, q) in enumerate(started)]
    deadline = time.monotonic() + service.config.request_timeout_s
    t0, first, remaining = time.monotonic(), True, len(tasks)
    try:
        while remaining:
            try:
                i, item = await asyncio.wait_for(merged.get(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                service.metrics.rejected["timeout"] += 1
                raise APIError(
                    504,
                    f"request took longer than {service.config.request_timeout_s:g} s "
                    "and was cancelled",
                    code="timeout",
                ) from None
            if item is None:
                remaining -= 1
                continue
            if isinstance(item, Exception):
                raise item
            if first:
                service.metrics.record_ttft(time.monotonic() - t0)
                first = False
            yield i, item
    finally:
        for t in tasks:
            t.cancel()


async def guarded(events: AsyncIterator[str]) -> AsyncIterator[str]:
    """Once the 200 and the first events are out, an error can only travel as an event."""
    try:
        async for e in events:
            yield e
    except APIError as err:
        yield sse_event(err.body())
        yield "data: [DONE]\n\n"
    except Exception:  # a bug must not cut the stream without a word, nor leak a traceback
        log.exception("streaming response failed")
        yield sse_event(
            APIError(500, "internal server error; the server log has the details").body()
        )
        yield "data: [DONE]\n\n"
