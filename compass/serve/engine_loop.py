"""One background loop drives the engine for every HTTP request (continuous batching).

Handlers never touch the engine: they ``submit`` a request and read its deltas from an asyncio
queue. The loop, one asyncio task, admits waiting requests up to ``max_concurrent``, applies
aborts, runs scoring jobs, and calls ``backend.step()`` — all on one worker thread, so the engine
sees a single caller and the event loop stays free to accept and stream while a step computes.
A request that cannot be queued is refused at once (:class:`QueueFull` -> HTTP 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from compass.serve.backend import Backend, Delta, GenParams

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """Every generation slot and every queue place is taken."""


class EngineError(RuntimeError):
    """The engine failed on this request (the message is safe to show a client)."""


class RequestRejected(EngineError):
    """The engine refused the request as given (a client error: HTTP 400)."""


class EngineLoop:
    def __init__(self, backend: Backend, max_concurrent: int, max_queue: int):
        self.backend = backend
        self.max_concurrent, self.max_queue = max_concurrent, max_queue
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="compass-engine")
        self._streams: dict[str, asyncio.Queue] = {}
        self._waiting: deque[tuple[str, list[int], GenParams]] = deque()
        self._running: set[str] = set()
        self._to_add: list[tuple[str, list[int], GenParams]] = []
        self._to_abort: list[str] = []
        self._jobs: list[tuple[Callable[[], Any], asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.steps = 0
        self.cancelled = 0  # requests dropped before finishing (client gone, timeout)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engine-loop")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    @property
    def num_running(self) -> int:
        return len(self._running)

    @property
    def num_waiting(self) -> int:
        return len(self._waiting)

    # -- what handlers call --------------------------------------------------------------------
    def submit(self, rid: str, prompt_ids: list[int], params: GenParams) -> asyncio.Queue:
        if len(self._running) + len(self._waiting) >= self.max_concurrent + self.max_queue:
            raise QueueFull
        self.start()  # normally done by the app's lifespan; this covers servers that skip it
        q: asyncio.Queue = asyncio.Queue()
        self._streams[rid] = q
        self._waiting.append((rid, prompt_ids, params))
        self._wake.set()
        return q

    def cancel(self, rid: str) -> None:
        """Drop a request (client gone, timeout): frees its slot and KV cache on the next tick."""
        if self._streams.pop(rid, None) is None:
            return
        self.cancelled += 1
        for item in self._waiting:
            if item[0] == rid:
                self._waiting.remove(item)
                return
        if rid in self._running:
            self._running.discard(rid)
            self._to_abort.append(rid)
            self._wake.set()

    async def stream(self, rid: str, q: asyncio.Queue) -> AsyncIterator[Delta]:
        """Deltas of a submitted request until it finishes; cancels it if the reader stops early."""
        done = False
        try:
            while True:
                item = await q.get()
                if isinstance(item, Exception):
                    done = True
                    raise item
                done = item.finished
                yield item
                if done:
                    return
        finally:
            if not done:
                self.cancel(rid)

    async def run_job(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the engine thread between two steps (e.g. prompt scoring)."""
        fut = asyncio.get_running_loop().create_future()
        self._jobs.append((fn, fut))
        self._wake.set()
        return await fut

    # -- the loop ------------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not (self._running or self._waiting or self._jobs or self._to_abort):
                self._wake.clear()
                await self._wake.wait()
            while self._waiting and len(self._running) < self.max_concurrent:
                item = self._waiting.popleft()
                self._running.add(item[0])
                self._to_add.append(item)
            adds, self._to_add = self._to_add, []
            aborts, self._to_abort = self._to_abort, []
            jobs, self._jobs = self._jobs, []
            deltas, add_errors, job_results, step_error = await loop.run_in_executor(
                self._executor, self._tick, adds, aborts, [fn for fn, _ in jobs], set(self._running)
            )
            for (_, fut), (ok, value) in zip(jobs, job_results):
                if not fut.done():
                    fut.set_result(value) if ok else fut.set_exception(value)
            for rid, err in add_errors:
                self._fail(rid, err)
            self._dispatch(deltas)
            if step_error is not None:
                for rid in list(self._running):
                    self._fail(rid, EngineError(f"generation failed: {step_error}"))
            await asyncio.sleep(0)  # let handlers run between steps

    def _tick(self, adds, aborts, jobs, running: set[str]):
        """Runs on the engine thread: everything that touches the backend happens here."""
        for rid in aborts:
            self.backend.abort(rid)
        add_errors = []
        for rid, ids, params in adds:
            try:
                self.backend.add(rid, ids, params)
            except Exception as e:  # a bad request must not stop the loop
                add_errors.append((rid, RequestRejected(str(e))))
        job_results = []
        for fn in jobs:
            try:
                job_results.append((True, fn()))
            except Exception as e:
                job_results.append((False, e))
        deltas, step_error = [], None
        if self.backend.has_work():
            try:
                deltas = self.backend.step()
                self.steps += 1
            except Exception as e:
                log.exception("engine step failed; failing the running requests")
                step_error = e
                for rid in running:
                    self.backend.abort(rid)
        elif running:
            step_error = RuntimeError("the engine dropped the request")
        return deltas, add_errors, job_results, step_error

    def _dispatch(self, deltas: list[Delta]) -> None:
        for d in deltas:
            q = self._streams.get(d.request_id)
            if d.finished:
                self._running.discard(d.request_id)
                self._streams.pop(d.request_id, None)
            if q is not None:
                q.put_nowait(d)

    def _fail(self, rid: str, err: Exception) -> None:
        self._running.discard(rid)
        q = self._streams.pop(rid, None)
        if q is not None:
            q.put_nowait(err)
