"""Throughput sweep against Compass's own server: fixed-length prompts reach the server exactly,
output tokens are the server's own counts, failures are counted, and the report files exist."""

import json

import pytest

from compass.eval.throughput import (
    Sample,
    ThroughputConfig,
    fixed_prompts,
    level_row,
    run_throughput,
    write_throughput,
)


def test_level_row_aggregates():
    samples = [Sample(True, 1.0, 10, 4), Sample(True, 3.0, 10, 6), Sample(False, 0.1, error="x")]
    row = level_row(2, samples, wall_s=4.0)
    assert row["output_tokens"] == 10 and row["output_tokens_per_s"] == 2.5
    assert row["errors"] == 1 and row["first_error"] == "x" and row["requests"] == 3
    assert row["latency_mean_s"] == 2.0 and row["latency_p50_s"] == 2.0
    assert row["latency_p99_s"] == pytest.approx(1.0 + 2.0 * 0.99)


def test_fixed_prompts_have_the_asked_length(micro_artifacts):
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(micro_artifacts["tokenizer"])
    prompts = fixed_prompts(3, 50, tok)
    assert [len(p) for p in prompts] == [50, 50, 50] and len({tuple(p) for p in prompts}) == 3
    assert all(len(p) == 7 and max(p) < 100 for p in fixed_prompts(2, 7, vocab_limit=100))


def test_sweep_against_in_process_server(micro_server, tmp_path):
    url, model = micro_server
    cfg = ThroughputConfig(url=url, concurrency=[1, 4], input_tokens=24, output_tokens=6, rounds=2)
    rows = run_throughput(cfg)
    assert cfg.model == model  # found through /v1/models
    assert [r["concurrency"] for r in rows] == [1, 4] and [r["requests"] for r in rows] == [2, 8]
    for r in rows:
        assert r["errors"] == 0, r["first_error"]
        assert r["input_tokens"] == 24 * r["requests"]  # the server saw exactly 24 prompt ids
        assert 0 < r["output_tokens"] <= 6 * r["requests"]
        assert r["output_tokens_per_s"] > 0
        assert r["latency_p50_s"] <= r["latency_p99_s"]
    paths = write_throughput(rows, cfg, tmp_path)
    assert json.loads(paths["json"].read_text())["levels"] == rows
    assert paths["png"].stat().st_size > 1000 and "| 4 | 8 | 0 | " in paths["md"].read_text()


def test_failures_are_counted_not_zero(micro_server):
    url, model = micro_server
    # Longer prompts than the model's context: the server refuses each one with a 400.
    cfg = ThroughputConfig(url, [2], input_tokens=5000, output_tokens=4, rounds=1, model=model)
    (row,) = run_throughput(cfg)
    assert row["errors"] == 2 and "HTTP 400" in row["first_error"]
    assert row["output_tokens_per_s"] != row["output_tokens_per_s"]  # NaN, not 0
    with pytest.raises(ConnectionError, match="is the server up"):
        run_throughput(ThroughputConfig("http://127.0.0.1:9", [1]))
