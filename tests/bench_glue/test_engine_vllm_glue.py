"""bench/engine_vllm_glue.py: merging vLLM's results into the engine bench rows and its table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import engine_vllm_glue as glue


def _result(ids_by_c: dict[int, list[list[int]]]) -> dict:
    rows = {
        str(c): {"tok_s": 100.0 * c, "latency_s": 0.5, "wall_s": 1.0, "token_ids": ids}
        for c, ids in ids_by_c.items()
    }
    return {
        "vllm_version": "0.32.0",
        "torch_version": "2.13.0+cpu",
        "dtype": "float32",
        "threads": 1,
        "torch_threads": 1,
        "repeats": 3,
        "load": (1.0, 2.0),
        "rows": rows,
    }


def test_merge_counts_identical_greedy_outputs_and_reports_ratio():
    rows = [
        {"c": 1, "compass": {"tok_s": 50.0, "latency_s": 1.0}, "compass_ids": [[1, 2]]},
        {"c": 2, "compass": {"tok_s": 400.0, "latency_s": 1.0}, "compass_ids": [[1, 2], [3, 4]]},
    ]
    glue.merge(rows, _result({1: [[1, 2]], 2: [[1, 2], [3, 5]]}))
    assert rows[0]["vllm_match"] == "1/1"
    assert rows[1]["vllm_match"] == "1/2"
    assert rows[1]["vllm"] == {"tok_s": 200.0, "latency_s": 0.5, "wall_s": 1.0}
    table = glue.report_lines(rows, _result({}))
    assert "| 1 | 50 | 100 | 0.50 | 1.00 | 0.50 | 1/1 |" in table
    assert "| 2 | 400 | 200 | 2.00 | 1.00 | 0.50 | 1/2 |" in table


def test_merge_skips_concurrencies_vllm_did_not_run():
    rows = [{"c": 4, "compass": {"tok_s": 1.0, "latency_s": 1.0}, "compass_ids": [[1]] * 4}]
    glue.merge(rows, _result({1: [[1]]}))
    assert "vllm" not in rows[0]
    assert not any(line.startswith("| 4 ") for line in glue.report_lines(rows, _result({})))
