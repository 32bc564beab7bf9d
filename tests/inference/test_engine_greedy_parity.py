"""Greedy engine output == naive full-forward generation, token for token, while requests join
at different steps, leave early (holes in the slot pool) and prefill in chunks."""

from __future__ import annotations

import torch

from compass.inference import Engine, SamplingParams
from compass.inference.cache import SlotCache
from compass.model.generate import greedy_generate


def _prompts(n: int, seed: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 40, (n,), generator=g).tolist()
    return [torch.randint(0, 1024, (k,), generator=g).tolist() for k in lengths]


def test_greedy_matches_full_forward_with_joins_and_leaves(micro_model):
    prompts = _prompts(7, seed=1)
    max_new = [9, 3, 12, 5, 1, 8, 6]
    # Requests join at these steps; a budget of 24 tokens splits long prompts into chunks.
    join_at = [0, 0, 0, 2, 3, 3, 6]
    engine = Engine(micro_model, max_batch=4, token_budget=24)
    got: dict[str, list[int]] = {}
    ids: list[str] = []
    step = 0
    while len(ids) < len(prompts) or engine.has_unfinished():
        for i, s in enumerate(join_at):
            if s == step:
                p = SamplingParams(temperature=0, max_tokens=max_new[i])
                ids.append(engine.add_request(prompts[i], p, request_id=f"r{i}"))
        for out in engine.step():
            got.setdefault(out.request_id, []).extend(out.new_token_ids)
            assert out.finished == (len(got[out.request_id]) == max_new[int(out.request_id[1:])])
        step += 1
        assert step < 200
    for i, p in enumerate(prompts):
        want = greedy_generate(micro_model, p, max_new[i], use_cache=False)
        assert got[f"r{i}"] == want, f"request {i} (prompt of {len(p)} tokens) diverged"


def test_generate_batch_matches_reference_and_reports_length(micro_model):
    prompts = _prompts(5, seed=2)
    engine = Engine(micro_model, max_batch=8)
    outs = engine.generate(prompts, SamplingParams(temperature=0, max_tokens=10))
    for p, out in zip(prompts, outs):
        assert out.token_ids == greedy_generate(micro_model, p, 10, use_cache=False)
        assert out.finish_reason == "length"


def test_slot_view_gather_path_equals_slice_path():
    """Non-contiguous slots (gathered by index) store and return what contiguous slices do."""
    torch.manual_seed(0)
    a, b = (SlotCache(1, 6, 2, 16, 4) for _ in range(2))
    k = torch.randn(2, 2, 3, 4)
    v = torch.randn(2, 2, 3, 4)
    pos = torch.tensor([[0, 1, 2], [5, 6, 7]])
    ka, va, ma = a.view([1, 2]).update(0, k, v, pos)
    kb, vb, mb = b.view([3, 1]).update(0, k.flip(0), v.flip(0), pos.flip(0))
    assert torch.equal(ka, kb.flip(0)) and torch.equal(va, vb.flip(0))
    assert torch.equal(ma, mb.flip(0))
    assert torch.equal(a.k[0][1], b.k[0][1]) and torch.equal(a.k[0][2], b.k[0][3])
