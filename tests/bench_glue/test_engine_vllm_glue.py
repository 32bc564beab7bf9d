"""bench/engine_vllm_glue.py: greedy agreement with compass and the compass-vs-vLLM table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import engine_vllm_glue as glue

META = {
    "vllm_version": "0.32.0",
    "torch_version": "2.13.0+cpu",
    "dtype": "float32",
    "threads": 1,
    "torch_threads": 1,
}


def _row(c: int, tok_s: float, ids: list[list[int]], vllm_tok_s: float | None) -> dict:
    row = {"c": c, "compass": {"tok_s": tok_s, "latency_s": 1.0}, "compass_ids": ids}
    if vllm_tok_s is not None:
        row["vllm"] = {"tok_s": vllm_tok_s, "latency_s": 0.5, "wall_s": 1.0}
    return row


def test_merge_counts_identical_greedy_outputs_and_table_gives_ratio():
    rows = [_row(1, 50.0, [[1, 2]], 100.0), _row(2, 400.0, [[1, 2], [3, 4]], 200.0)]
    glue.merge(rows, {1: [[1, 2]], 2: [[1, 2], [3, 5]]})
    assert [r["vllm_match"] for r in rows] == ["1/1", "1/2"]
    table = glue.report_lines(rows, META)
    assert "| 1 | 50 | 100 | 0.50 | 1.00 | 0.50 | 1/1 |" in table
    assert "| 2 | 400 | 200 | 2.00 | 1.00 | 0.50 | 1/2 |" in table


def test_rows_without_vllm_figures_are_left_out():
    rows = [_row(4, 1.0, [[1]] * 4, None)]
    glue.merge(rows, {})
    assert "vllm_match" not in rows[0]
    assert not any(line.startswith("| 4 ") for line in glue.report_lines(rows, META))
