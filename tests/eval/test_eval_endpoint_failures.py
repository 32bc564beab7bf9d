"""``openai:`` endpoints that misbehave: no log-probabilities (multiple-choice tasks skipped with
the reason, generation still scored), transient errors retried with backoff, a concurrency cap
kept."""

import asyncio
import json

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from compass.eval.harness import evaluate
from compass.eval.openai_backend import EndpointError, OpenAIBackend
from compass.eval.tasks import TaskSpec
from compass.serve.server import BackgroundServer


def _fake_server() -> tuple[FastAPI, dict]:
    """Behaviour per model name; ``seen`` counts calls and the most requests in flight."""
    app, seen = FastAPI(), {"calls": 0, "inflight": 0, "peak": 0}

    @app.get("/v1/models")
    async def models():
        return {"data": [{"id": "plain"}]}

    @app.post("/v1/completions")
    async def completions(body: dict):
        seen["calls"] += 1
        seen["inflight"] += 1
        seen["peak"] = max(seen["peak"], seen["inflight"])
        await asyncio.sleep(0.05)
        seen["inflight"] -= 1
        model = body["model"]
        if model == "flaky" and seen["calls"] <= 2:
            return JSONResponse({"error": "overloaded"}, status_code=503)
        if model == "down":
            return JSONResponse({"error": "overloaded"}, status_code=503)
        if model == "refuses" and body.get("echo"):
            return JSONResponse({"error": "echo is not supported"}, status_code=400)
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        # "plain" (and the others) answer text only: no logprobs block, as many hosted APIs do.
        return {"choices": [{"index": i, "text": " 42\n"} for i in range(len(prompts))]}

    return app, seen


@pytest.fixture
def fake():
    app, seen = _fake_server()
    with BackgroundServer(app) as url:
        yield url, seen


def _tasks(tmp_path):
    mc = tmp_path / "mc.jsonl"
    mc.write_text(json.dumps({"prompt": "2+2=", "choices": ["4", "5"], "answer": 0}) + "\n")
    gen = tmp_path / "gen.jsonl"
    gen.write_text(json.dumps({"prompt": "6*7=", "answer": "42"}) + "\n")
    return [TaskSpec("arith_mc", str(mc)), TaskSpec("arith_gen", str(gen), kind="gen")]


@pytest.mark.parametrize("model", ["plain", "refuses"])
def test_no_logprobs_skips_mc_and_scores_generation(fake, tmp_path, model):
    url, _ = fake
    mc, gen = evaluate(_tasks(tmp_path), OpenAIBackend(url, model, backoff_s=0.01))
    assert mc.skipped and mc.n == 0 and "echo + logprobs" in mc.skipped
    assert "\n" not in mc.skipped and f"#{model}" in mc.skipped
    assert not gen.skipped and gen.metrics["exact_match"] == 1.0


def test_retries_with_backoff_then_succeeds(fake):
    url, seen = fake
    out = OpenAIBackend(url, "flaky", backoff_s=0.01).generate_until([("q", ["\n"], 4)])
    assert out == [" 42"] and seen["calls"] == 3


def test_endpoint_down_names_model_and_tries(fake):
    url, seen = fake
    backend = OpenAIBackend(url, "down", max_retries=2, backoff_s=0.01)
    with pytest.raises(
        EndpointError, match=r"openai:.*#down: /completions HTTP 503.*after 3 tries"
    ):
        backend.generate_until([("q", [], 4)])
    assert seen["calls"] == 3


def test_concurrency_limit(fake):
    url, seen = fake
    backend = OpenAIBackend(url, concurrency=2)
    assert backend.model == "plain"  # from /v1/models
    assert backend.generate_until([("q", ["\n"], 4)] * 8) == [" 42"] * 8
    assert seen["peak"] == 2
