"""Needle retrieval before / after the long-context stage: the length grid straddles the main
context, both checkpoints are asked the same cases (the earlier one beyond its own context), and
the side-by-side heatmap and table are written."""

import json

from compass.eval.niah_stages import NiahStagesConfig, compare_stages, stage_lengths


def test_lengths_straddle_the_main_context_and_fit_the_long_one():
    cfg = NiahStagesConfig()
    assert stage_lengths(cfg, 256, 1024) == [128, 256, 512, 768, 1014]
    assert stage_lengths(cfg, 64, 512) == [128, 192, 256]  # floored where a needle fits


def test_both_checkpoints_scored_on_one_grid(micro_artifacts, tmp_path):
    ckpt = micro_artifacts["ckpt"]  # max_seq_len 256: asked at 300 as the anneal one would be
    cfg = NiahStagesConfig(
        length_mults=[2.0, 4.0], depths=[0, 100], langs=["en", "id"], per_cell=1, max_tokens=8
    )
    metrics = compare_stages({"before": ckpt, "after": ckpt}, cfg, 64, 308, tmp_path)
    same = metrics["needle"]
    assert set(same) == {"before", "after"} and same["before"] == same["after"]
    assert list(same["after"]["by_length"]) == ["128", "256"]
    assert (tmp_path / "niah_needle_stages.png").stat().st_size > 1000
    assert "| before |" in (tmp_path / "niah.md").read_text()
    cases = json.loads((tmp_path / "before" / "niah_needle.json").read_text())["cases"]
    assert [c["lang"] for c in cases] == ["en", "id"] * 2  # one language per cell, in turn
    assert not list((tmp_path / "before").glob("*.png"))  # only the side-by-side figure
