"""The engine runs compass.quant's models through their own forward: greedy output equals the
quantized model's naive full-forward generation, from memory and from a saved checkpoint."""

from __future__ import annotations

import copy

import pytest

from compass.inference import Engine, SamplingParams
from compass.model.generate import greedy_generate

quant = pytest.importorskip("compass.quant")

PROMPTS = [[5, 9, 2, 7, 11], [300, 1, 2], list(range(40, 70))]


@pytest.mark.parametrize("method", ["int8", "fp8", "rtn-int4"])
def test_quantized_model_greedy_parity(micro_model, tmp_path, method):
    model = copy.deepcopy(micro_model)
    quant.quantize_model(model, quant.QuantConfig(method=method, group_size=32))
    params = SamplingParams(temperature=0, max_tokens=6)
    want = [greedy_generate(model, p, 6, use_cache=False) for p in PROMPTS]
    got = [c.token_ids for c in Engine(model, max_batch=4).generate(PROMPTS, params)]
    assert got == want
    quant.save_quantized(model, tmp_path / "q")
    engine = Engine.from_checkpoint(tmp_path / "q", max_batch=4)
    assert [c.token_ids for c in engine.generate(PROMPTS, params)] == want
