"""Continuous batching: which requests run in the next step, and how many tokens each feeds.

Every step has a token budget. Decoding requests come first (one token each, so a long prompt
arriving never stalls the ones already streaming); the rest of the budget goes to prefill —
first to prompts already part-way through (chunked prefill), then to waiting requests in
arrival order while a cache slot is free. Requests join and leave between any two steps.
A prompt that starts like one whose keys are cached (a freed slot's last content, or a running
request's prompt) starts its prefill after the shared part.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from compass.inference.cache import SlotCache, common_prefix
from compass.inference.request import Request, Status


@dataclass
class ScheduledStep:
    decode: list[Request] = field(default_factory=list)
    prefill: list[tuple[Request, int]] = field(default_factory=list)  # (request, tokens to feed)

    def __bool__(self) -> bool:
        return bool(self.decode or self.prefill)


class Scheduler:
    def __init__(self, cache: SlotCache, max_batch: int, token_budget: int, min_shared: int = 16):
        if token_budget < max_batch:
            raise ValueError(
                f"token_budget={token_budget} must be >= max_batch={max_batch}: every running "
                "request needs one token of budget per decode step"
            )
        self.cache, self.max_batch, self.token_budget = cache, max_batch, token_budget
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        # Prompt prefixes at least this long are reused from the cache instead of recomputed.
        self.min_shared = min_shared
        self.prefix_hit_tokens = 0  # prompt tokens whose prefill was skipped (a statistic)

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
            r = self.waiting[0]
            if self._prefix_being_computed(r):
                break  # next step its prefix is in the cache: copy it instead of recomputing
            self.waiting.popleft()
            self._admit(r)
            n = min(r.num_prompt - r.num_computed, budget)
            step.prefill.append((r, n))
            budget -= n
        # Slot order makes the cache view a plain slice whenever the slots are contiguous.
        step.decode.sort(key=lambda r: r.slot)
        step.prefill.sort(key=lambda rn: rn[0].slot)
        return step

    def _admit(self, r: Request) -> None:
        """Give ``r`` a slot, reusing cached keys of a shared prompt prefix where there are any:
        from the slot's previous owner, or copied from a running request's slot."""
        slot, shared = self.cache.allocate(r.prompt_ids, self.min_shared)
        for other in self.running:
            n = common_prefix(self.cache.tokens[other.slot], r.prompt_ids, r.num_prompt - 1)
            if n >= self.min_shared and n > shared:
                self.cache.copy_prefix(other.slot, slot, n)
                shared = n
        r.slot, r.status, r.num_computed = slot, Status.RUNNING, shared
        self.prefix_hit_tokens += shared
        self.running.append(r)

    def _prefix_being_computed(self, r: Request) -> bool:
        """A running request is still prefilling the first ``min_shared`` tokens ``r`` starts with
        (the n samples of one prompt, sent together): wait for it rather than prefill twice."""
        head = r.prompt_ids[: self.min_shared]
        if len(head) < self.min_shared or r.num_prompt <= self.min_shared:
            return False
        return any(
            o.prefilling
            and o.prompt_ids[: self.min_shared] == head
            and o.num_computed < o.num_prompt
            for o in self.running
        )

    def finish(self, req: Request, reason: str) -> None:
        req.status, req.finish_reason = Status.FINISHED, reason
        if req in self.running:
            self.running.remove(req)
            self.cache.release(req.slot)
            req.slot = None
        elif req in self.waiting:
            self.waiting.remove(req)
