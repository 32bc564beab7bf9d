"""The judge: verdict parsing, position-bias swap, and failures (down, garbage, a model that does
not follow the format) reported as counted skips — never as a score of zero."""

import re

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from compass.eval.judge import JudgeClient, grade, pairwise, parse_rating, parse_verdict
from compass.serve.server import BackgroundServer

ITEMS = [
    {"question": "2+2?", "answer": "4 is correct", "reference": "4"},
    {"question": "Capital of Thailand?", "answer": "Hanoi"},
]


def _chat(text: str) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def _fake_judges() -> FastAPI:
    """One endpoint, a behaviour per model name."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        prompt = body["messages"][-1]["content"]
        model = body["model"]
        if model == "garbage":
            return PlainTextResponse("<html>upstream error</html>")
        if model == "no-choices":
            return {"error": "overloaded"}
        if model == "scorer":  # rates an answer 9 when it says "correct", else 2
            return _chat("Fine. Rating: [[9]]" if "correct" in prompt else "Bad. [[2]]")
        if model == "biased":  # always prefers whichever answer is shown first
            return _chat("The first is better. [[A]]")
        # "fair": prefers the answer that contains "correct", wherever it is shown
        a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End", prompt, re.S).group(1)
        return _chat("[[A]]" if "correct" in a else "[[B]]")

    return app


@pytest.fixture(scope="module")
def fake_url():
    with BackgroundServer(_fake_judges()) as url:
        yield url


def test_parsing():
    assert parse_rating("Explanation... Rating: [[7]]") == 7.0
    assert parse_rating("[[3]] then on reflection [[8.5]]") == 8.5
    assert parse_rating("Rating: 6") == 6.0
    assert parse_rating("[[11]]") is None and parse_rating("no verdict") is None
    assert parse_verdict("so [[B]]") == "B" and parse_verdict("[[A]] or [[B]]") is None
    assert parse_verdict("B is better") is None


def test_grading_with_a_working_judge(fake_url):
    rep = grade(ITEMS, JudgeClient(fake_url, "scorer"))
    assert rep.graded == 2 and rep.skipped == {}
    assert [r["score"] for r in rep.items] == [9.0, 2.0] and rep.metrics["score"] == 5.5


def test_position_bias_swap(fake_url):
    pairs = [
        {"question": "q1", "answer_a": "correct", "answer_b": "wrong"},
        {"question": "q2", "answer_a": "wrong", "answer_b": "correct"},
    ]
    fair = pairwise(pairs, JudgeClient(fake_url, "fair"))
    assert [r["winner"] for r in fair.items] == ["A", "B"]
    assert fair.metrics["win_rate_a"] == 0.5 and fair.metrics["position_consistency"] == 1.0
    biased = pairwise(pairs, JudgeClient(fake_url, "biased"))
    # The verdict follows the order, so the swap turns both into ties.
    assert [r["winner"] for r in biased.items] == ["tie", "tie"]
    assert biased.metrics["position_consistency"] == 0.0


@pytest.mark.parametrize(
    "url_model,reason",
    [
        (("http://127.0.0.1:9", "any"), "judge error: endpoint unreachable: ConnectError"),
        ((None, "garbage"), "judge error: reply is not an OpenAI chat completion"),
        ((None, "no-choices"), "judge error: reply is not an OpenAI chat completion"),
    ],
)
def test_broken_judges_are_counted_skips(fake_url, url_model, reason):
    url, model = url_model
    rep = grade(ITEMS, JudgeClient(url or fake_url, model, timeout_s=5))
    assert rep.graded == 0 and rep.skipped == {reason: 2}
    assert rep.metrics["score"] is None  # not 0
    pairs = [{"question": "q", "answer_a": "x", "answer_b": "y"}]
    assert pairwise(pairs, JudgeClient(url or fake_url, model, timeout_s=5)).skipped == {reason: 1}


def test_compass_server_as_judge(micro_server):
    """Our own server with the random micro model: requests go through, and its replies (noise,
    not verdicts) are counted as unparsable — the report says so instead of scoring zero."""
    url, model = micro_server
    # The micro model's 256-token context cannot hold the full rubric; a short one fits.
    short = "Rate 1-10 as [[n]].{ref_rule}{ref_block} Q: {question} A: {answer}"
    rep = grade(ITEMS, JudgeClient(url, model, max_tokens=8), rubric=short)
    assert rep.n == 2 and rep.graded + sum(rep.skipped.values()) == 2
    assert set(rep.skipped) <= {"unparsable verdict"}
    assert all(r["judgement"] or r["skip"] for r in rep.items)
    if rep.graded == 0:
        assert rep.metrics["score"] is None


def test_prompt_too_long_for_the_judge_is_a_counted_http_skip(micro_server):
    url, model = micro_server
    rep = grade(ITEMS[:1], JudgeClient(url, model, max_tokens=8))  # full rubric > 256 tokens
    ((reason, n),) = rep.skipped.items()
    assert n == 1 and reason.startswith("judge error: HTTP 400")


def test_judge_cli_answers_with_a_compass_model(micro_artifacts, fake_url, tmp_path):
    import json

    from compass.cli import main

    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question": q}) + "\n" for q in ("2+2?", "Hi?")))
    out = tmp_path / "judge"
    args = ["eval", "judge", "--judge-url", fake_url, "--judge-model", "scorer"]
    args += ["--questions", str(questions), "--model", str(micro_artifacts["ckpt"])]
    assert main([*args, "--max-tokens", "4", "--out", str(out)]) == 0
    rep = json.loads((out / "judge.json").read_text())
    assert rep["graded"] == 2 and all(isinstance(r["answer"], str) for r in rep["items"])
    assert rep["metrics"]["score"] == 2.0  # the fake scorer: no "correct" in random answers
