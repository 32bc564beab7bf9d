"""The engine's KV-cache manager: a fixed pool of cache rows ("slots"), one per running request.

The model's forward takes any object with ``update(layer, k, v, positions)`` and
``advance(positions)`` (the contract of ``compass.model.kv_cache.KVCache``). A forward over a
subset of the running requests gets a :class:`SlotView`: batch row i of the forward reads and
writes slot ``slots[i]``. When the slots form a contiguous ascending range — the common case,
since slots are handed out lowest-first — the view is a plain slice (no copy); otherwise keys are
gathered by index. Keys are written at absolute positions, so a freed slot needs no clearing:
stale entries lie beyond the new owner's positions and the causal mask never admits them.

Legend: N slots, B forward rows, K kv heads, S cache length, T new tokens, d head dim.
"""

from __future__ import annotations

import torch


class SlotCache:
    def __init__(
        self,
        n_layers: int,
        n_slots: int,
        n_kv_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        shape = (n_slots, n_kv_heads, max_len, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.n_slots, self.max_len = n_slots, max_len
        self._free = list(range(n_slots))
        # The token ids whose keys each slot holds at positions 0..len-1 (for prefix reuse).
        self.tokens: list[list[int]] = [[] for _ in range(n_slots)]

    @classmethod
    def for_model(cls, config, n_slots: int, max_len: int, dtype, device) -> SlotCache:
        return cls(
            config.n_layers, n_slots, config.n_kv_heads, max_len, config.head_dim, dtype, device
        )

    @property
    def num_free(self) -> int:
        return len(self._free)

    def allocate(self, prompt: list[int], min_shared: int) -> tuple[int, int]:
        """A free slot for ``prompt`` and how many of its leading tokens' keys it already holds.

        A freed slot keeps its keys until they are overwritten, so a prompt that starts like the
        slot's last content (the next turn of a chat, a repeated few-shot prefix) skips that part
        of its prefill. Otherwise the lowest free slot, which keeps batches contiguous.
        """
        if not self._free:
            raise RuntimeError("no free KV-cache slot: the scheduler admitted too many requests")
        self._free.sort()
        best, shared = self._free[0], 0
        for slot in self._free:
            n = common_prefix(self.tokens[slot], prompt, len(prompt) - 1)
            if n >= min_shared and n > shared:
                best, shared = slot, n
        self._free.remove(best)
        return best, shared

    def release(self, slot: int) -> None:
        if slot in self._free:
            raise RuntimeError(f"KV-cache slot {slot} released twice")
        self._free.append(slot)

    def record(self, slot: int, start: int, ids: list[int]) -> None:
        """Keys for ``ids`` were written at positions ``start...``; later ones are stale."""
        self.tokens[slot] = self.tokens[slot][:start] + list(ids)

    def copy_prefix(self, src: int, dst: int, n: int) -> None:
        """Give slot ``dst`` the first ``n`` positions of slot ``src`` (a shared prompt prefix)."""
        for k, v in zip(self.k, self.v):
            k[dst, :, :n] = k[src, :, :n]
            v[dst, :, :n] = v[src, :, :n]
        self.tokens[dst] = self.tokens[src][:n]

    def view(self, slots: list[int]) -> SlotView:
        return SlotView(self, slots)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.k + self.v)


def common_prefix(a: list[int], b: list[int], limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    n = min(len(a), len(b), limit)
    if n <= 0 or a[0] != b[0]:
        return 0
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class SlotView:
    """The cache seen by one forward: row i is slot ``slots[i]``."""

    def __init__(self, cache: SlotCache, slots: list[int]):
        self.cache = cache
        self.max_len = cache.max_len
        first = slots[0]
        self._range = (
            slice(first, first + len(slots))
            if slots == list(range(first, first + len(slots)))
            else None
        )
        self._index = torch.tensor(slots, device=cache.k[0].device)
        # The forward only reads lengths when it is given no positions; the engine always gives
        # them.
        self.lengths = None
        self._mask: tuple[torch.Tensor, int, torch.Tensor] | None = None

    def _allowed(self, positions_BT: torch.Tensor) -> tuple[int, torch.Tensor]:
        """Key length and [B, T, S] validity mask: the same for every layer, so built once."""
        if self._mask is None or self._mask[0] is not positions_BT:
            s = int(positions_BT.max()) + 1
            if s > self.max_len:
                raise ValueError(f"position {s - 1} is beyond the KV cache length {self.max_len}")
            key_pos_S = torch.arange(s, device=positions_BT.device)
            self._mask = (positions_BT, s, key_pos_S[None, None, :] <= positions_BT[:, :, None])
        return self._mask[1], self._mask[2]

    def update(
        self, layer: int, k_BKTd: torch.Tensor, v_BKTd: torch.Tensor, positions_BT: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, allowed_BTS = self._allowed(positions_BT)
        k_all, v_all = self.cache.k[layer], self.cache.v[layer]
        if self._range is not None:
            k_rows, v_rows = k_all[self._range], v_all[self._range]
            idx = positions_BT[:, None, :, None].expand_as(k_BKTd)
            k_rows.scatter_(2, idx, k_BKTd)
            v_rows.scatter_(2, idx, v_BKTd)
            k_BKSd, v_BKSd = k_rows[:, :, :s], v_rows[:, :, :s]
        else:
            rows_BT = self._index[:, None].expand_as(positions_BT)
            # Advanced indexing [slot, :, pos] addresses a [B, T, K, d] block.
            k_all[rows_BT, :, positions_BT] = k_BKTd.transpose(1, 2)
            v_all[rows_BT, :, positions_BT] = v_BKTd.transpose(1, 2)
            k_BKSd = k_all[self._index, :, :s]
            v_BKSd = v_all[self._index, :, :s]
        return k_BKSd, v_BKSd, allowed_BTS

    def advance(self, positions_BT: torch.Tensor) -> None:
        """Lengths are tracked per request by the engine, not here."""
