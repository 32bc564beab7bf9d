"""bench/gpu_check.py at toy sizes on the CPU (its ``--smoke`` mode): the script a lent GPU runs
must not rot between GPU sessions, and its kernel comparisons must hold here too."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import gpu_check


@pytest.fixture
def smoke(monkeypatch, one_thread):
    monkeypatch.setattr(gpu_check, "DEV", "cpu")
    monkeypatch.setattr(gpu_check, "SMOKE", True)


def test_parity_section_compares_every_expert_kernel(smoke):
    res: dict = {}
    gpu_check.section_parity(res)
    # CPU vs CPU here: this only checks the section runs; the kernel comparisons below are real
    assert res["cuda_vs_cpu_fp32_logits_rel"] == 0.0
    assert abs(res["bf16_autocast_loss"] - res["fp32_loss"]) < 0.05
    experts = res["experts"]
    assert set(experts) == {
        "bmm_float32",
        "grouped_mm_float32",
        "bmm_bfloat16",
        "grouped_mm_bfloat16",
    }
    for name, errs in experts.items():
        bound = 1e-5 if name.endswith("float32") else 2e-2
        assert max(errs.values()) < bound, (name, errs)


def test_fp8_and_stage_sections_report_their_figures(smoke):
    fp8: dict = {}
    gpu_check.section_fp8(fp8)
    rows = fp8["linear_8192x3072"]
    assert set(rows) == {16, 256, 4096}
    # on the CPU the weight-only path runs; the W8A8 oracle differs by activation rounding only
    assert all(r["rel_vs_oracle"] < 0.05 and r["speedup"] > 0 for r in rows.values())
    stages: dict = {}
    gpu_check.section_stages(stages)
    # CPU vs CPU again: the section runs and reports; the device comparison is the GPU's job
    assert stages["dpo_logprobs_rel"] == 0.0 and stages["reward_scores_abs"] == 0.0
