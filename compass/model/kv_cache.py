"""A slot-based key/value cache: one row per sequence, keys written at their absolute positions.

Writing at explicit positions (rather than appending) lets rows of one batch sit at different
lengths, which continuous batching needs: a row's stale entries beyond its current position are
never read because the mask only admits keys at positions <= the query's own position.

Legend: B rows, K kv heads, S cache length, T new tokens, d head dim.
"""

from __future__ import annotations

import torch


class KVCache:
    def __init__(
        self,
        n_layers: int,
        batch: int,
        n_kv_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        shape = (batch, n_kv_heads, max_len, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.max_len = max_len
        # Highest position written so far per row + 1; the model bumps it once per forward.
        self.lengths = torch.zeros(batch, dtype=torch.long, device=device)

    @classmethod
    def for_model(
        cls, config, batch: int, max_len: int | None = None, dtype=torch.float32, device="cpu"
    ):
        return cls(
            config.n_layers,
            batch,
            config.n_kv_heads,
            max_len or config.max_seq_len,
            config.head_dim,
            dtype,
            device,
        )

    def rows(self, index_R: torch.Tensor) -> KVCache:
        """A copy holding rows ``index_R`` (a row may repeat): continuations that share a
        prompt each grow their own copy of its keys and values."""
        out = KVCache.__new__(KVCache)
        index_R = index_R.to(self.lengths.device)
        out.k = [k[index_R] for k in self.k]
        out.v = [v[index_R] for v in self.v]
        out.max_len, out.lengths = self.max_len, self.lengths[index_R]
        return out

    def update(
        self, layer: int, k_BKTd: torch.Tensor, v_BKTd: torch.Tensor, positions_BT: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Store the new keys/values; return keys, values and the key positions' validity mask."""
        if int(positions_BT.max()) >= self.max_len:
            raise ValueError(
                f"position {int(positions_BT.max())} is beyond the KV cache length {self.max_len}: "
                "allocate a longer cache or shorten the prompt"
            )
        idx = positions_BT[:, None, :, None].expand_as(k_BKTd)
        self.k[layer].scatter_(2, idx, k_BKTd)
        self.v[layer].scatter_(2, idx, v_BKTd)
        s = int(positions_BT.max()) + 1
        key_pos_S = torch.arange(s, device=positions_BT.device)
        allowed_BTS = key_pos_S[None, None, :] <= positions_BT[:, :, None]
        return self.k[layer][:, :, :s], self.v[layer][:, :, :s], allowed_BTS

    def advance(self, positions_BT: torch.Tensor) -> None:
        self.lengths = torch.maximum(self.lengths, positions_BT.max(dim=1).values + 1)
