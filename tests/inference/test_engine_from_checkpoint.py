"""Engine.from_checkpoint loads what compass.model.io saves: a checkpoint dir or a run dir."""

from __future__ import annotations

from compass.inference import Engine, SamplingParams
from compass.model.generate import greedy_generate
from compass.model.io import save_model


def test_from_checkpoint_and_run_dir(micro_model, tmp_path):
    save_model(micro_model, tmp_path / "run" / "step-3")
    (tmp_path / "run" / "latest").write_text("step-3\n")
    prompt = [7, 8, 9, 10]
    want = greedy_generate(micro_model, prompt, 5, use_cache=False)
    for path in (tmp_path / "run" / "step-3", tmp_path / "run"):
        engine = Engine.from_checkpoint(path, max_batch=2, max_seq_len=64)
        out = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=5))[0]
        assert out.token_ids == want
        assert engine.max_seq_len == 64 and engine.cache.n_slots == 2
