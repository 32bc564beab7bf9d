"""The ASGI layer in front of every route: body-size limit, draining, in-flight count, metrics.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so streamed responses pass straight through
and a client's disconnect still reaches the route, which cancels its generation.
"""

from __future__ import annotations

import json
import time

from compass.serve.errors import APIError
from compass.serve.metrics import Metrics

# Paths counted in metrics under their own name; anything else is "other" (bounded label set).
_ENDPOINTS = {
    "/v1/completions",
    "/v1/chat/completions",
    "/v1/models",
    "/v1/usage",
    "/health",
    "/metrics",
}


async def _send_error(send, err: APIError) -> None:
    body = json.dumps(err.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServingMiddleware:
    def __init__(self, app, max_body_bytes: int, metrics: Metrics, state):
        self.app, self.max_body_bytes, self.metrics, self.state = (
            app,
            max_body_bytes,
            metrics,
            state,
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        endpoint = (
            path if path in _ENDPOINTS else ("portal" if not path.startswith("/v1") else "other")
        )
        t0 = time.monotonic()
        status_box = [0]

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.record_request(endpoint, status_box[0], time.monotonic() - t0)

        if self.state.draining and path.startswith("/v1"):
            self.metrics.rejected["draining"] += 1
            err = APIError(
                503,
                "server is shutting down; retry on another replica",
                headers={"Retry-After": "5"},
            )
            await _send_error(send_wrapped, err)
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            replay = await self._read_body(scope, receive)
            if isinstance(replay, APIError):
                self.metrics.rejected["body_too_large"] += 1
                await _send_error(send_wrapped, replay)
                return
            receive = replay
        self.state.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            self.state.in_flight -= 1

    async def _read_body(self, scope, receive):
        """Buffer the body up to the limit (413 past it), then replay it to the route."""
        limit = self.max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return APIError(
                    413,
                    f"request body is {int(value)} bytes; the limit is {limit}",
                    code="body_too_large",
                )
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return APIError(
                    413, f"request body exceeds the limit of {limit} bytes", code="body_too_large"
                )
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
