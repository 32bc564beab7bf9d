"""Plain greedy generation with the KV cache: the reference that the engine is tested against."""

from __future__ import annotations

import torch

from compass.model.kv_cache import KVCache
from compass.model.transformer import CompassModel


@torch.no_grad()
def greedy_generate(
    model: CompassModel, prompt_ids: list[int], max_new_tokens: int, use_cache: bool = True
) -> list[int]:
    ids = torch.tensor([prompt_ids])
    if not use_cache:
        out = list(prompt_ids)
        for _ in range(max_new_tokens):
            logits = model(torch.tensor([out])).logits_BTV[0, -1]
            out.append(int(logits.argmax()))
        return out[len(prompt_ids) :]
    cache = KVCache.for_model(
        model.config, 1, len(prompt_ids) + max_new_tokens, dtype=model.embed.weight.dtype
    )
    logits = model(ids, cache=cache).logits_BTV[0, -1]
    new = []
    for _ in range(max_new_tokens):
        nxt = int(logits.argmax())
        new.append(nxt)
        logits = model(torch.tensor([[nxt]]), cache=cache).logits_BTV[0, -1]
    return new
