"""Running the app under uvicorn, with graceful shutdown, and in a background thread for tests.

On SIGINT/SIGTERM the server first drains: new API requests get 503 while in-flight ones finish
(up to ``drain_timeout_s``); then uvicorn closes. A second signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain_timeout_s: float):
        super().__init__(config)
        self.drain_timeout_s = drain_timeout_s
        self._draining_task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets=None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig, frame) -> None:
        state = self.config.app.state.service.state if hasattr(self.config.app, "state") else None
        if state is None or state.draining or self._draining_task is not None:
            return super().handle_exit(sig, frame)
        state.draining = True
        log.info("draining: %d request(s) in flight; new API requests get 503", state.in_flight)
        self._draining_task = self.loop.create_task(self._drain(state))

    async def _drain(self, state) -> None:
        deadline = time.monotonic() + self.drain_timeout_s
        while state.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if state.in_flight:
            log.warning("drain timeout: closing with %d request(s) in flight", state.in_flight)
        self.should_exit = True


def serve_forever(app: FastAPI, host: str, port: int, drain_timeout_s: float = 30.0) -> None:
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5
    )
    DrainingServer(config, drain_timeout_s).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class BackgroundServer:
    """The app on 127.0.0.1 in a daemon thread: ``with BackgroundServer(app) as url: ...``."""

    def __init__(self, app: FastAPI, port: int | None = None, drain_timeout_s: float = 10.0):
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = DrainingServer(config, drain_timeout_s)
        self.server.install_signal_handlers = lambda: None  # signals belong to the main thread
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.02)
        return self.url

    def begin_drain(self) -> None:
        """What the first SIGTERM does, callable from the test thread."""
        self.server.loop.call_soon_threadsafe(self.server.handle_exit, signal.SIGTERM, None)

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
