"""Continuous batching: which requests run in the next step, and how many tokens each feeds.

Every step has a token budget. Decoding requests come first (one token each, so a long prompt
arriving never stalls the ones already streaming); the rest of the budget goes to prefill —
first to prompts already part-way through (chunked prefill), then to waiting requests in
arrival order while a cache slot is free. Requests join and leave between any two steps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from compass.inference.cache import SlotCache
from compass.inference.request import Request, Status


@dataclass
class ScheduledStep:
    decode: list[Request] = field(default_factory=list)
    prefill: list[tuple[Request, int]] = field(default_factory=list)  # (request, tokens to feed)

    def __bool__(self) -> bool:
        return bool(self.decode or self.prefill)


class Scheduler:
    def __init__(self, cache: SlotCache, max_batch: int, token_budget: int):
        if token_budget < max_batch:
            raise ValueError(
                f"token_budget={token_budget} must be >= max_batch={max_batch}: every running "
                "request needs one token of budget per decode step"
            )
        self.cache, self.max_batch, self.token_budget = cache, max_batch, token_budget
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []

    def add(self, req: Request) -> None:
        self.waiting.append(req)

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> ScheduledStep:
        step = ScheduledStep(decode=[r for r in self.running if not r.prefilling])
        budget = self.token_budget - len(step.decode)
        for r in self.running:
            if r.prefilling and budget > 0:
                n = min(r.num_prompt - r.num_computed, budget)
                step.prefill.append((r, n))
                budget -= n
        while self.waiting and budget > 0 and len(self.running) < self.max_batch:
            r = self.waiting.popleft()
            r.slot, r.status = self.cache.allocate(), Status.RUNNING
            self.running.append(r)
            n = min(r.num_prompt, budget)
            step.prefill.append((r, n))
            budget -= n
        # Slot order makes the cache view a plain slice whenever the slots are contiguous.
        step.decode.sort(key=lambda r: r.slot)
        step.prefill.sort(key=lambda rn: rn[0].slot)
        return step

    def finish(self, req: Request, reason: str) -> None:
        req.status, req.finish_reason = Status.FINISHED, reason
        if req in self.running:
            self.running.remove(req)
            self.cache.release(req.slot)
            req.slot = None
        elif req in self.waiting:
            self.waiting.remove(req)
