"""Epochs over a fixed list of examples, reshuffled each epoch from a seed, resumable exactly.

The SFT, reward and DPO stages train on in-memory lists; their position is two integers, so a
checkpoint restores exactly where the data stream was.
"""

from __future__ import annotations

import random
from typing import Any


class ShuffledEpochs:
    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.epoch, self.pos = 0, 0
        self._order = self._shuffle()

    def _shuffle(self) -> list[int]:
        order = list(range(self.n))
        random.Random(f"{self.seed}:{self.epoch}").shuffle(order)
        return order

    def peek(self) -> int:
        """The next index, without consuming it (crossing into the next epoch when needed)."""
        if self.pos == self.n:
            self.epoch, self.pos = self.epoch + 1, 0
            self._order = self._shuffle()
        return self._order[self.pos]

    def take(self, k: int) -> list[int]:
        """The next ``k`` indices, crossing into the next (reshuffled) epoch when needed."""
        picked = []
        while len(picked) < k:
            picked.append(self.peek())
            self.pos += 1
        return picked

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.pos = state["epoch"], state["pos"]
        self._order = self._shuffle()
