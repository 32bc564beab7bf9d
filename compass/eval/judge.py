"""Free-form answers graded by a judge model through any OpenAI-compatible chat endpoint.

Two modes, with MT-Bench's prompts and verdict formats: single-answer grading on a 1–10 rubric
(``[[rating]]``), and pairwise comparison (``[[A]]`` / ``[[B]]`` / ``[[C]]`` for a tie) asked in
both orders to cancel position bias — a verdict that flips with the order counts as a tie, and the
consistency rate is reported. A judge that is down, answers with an HTTP error, malformed JSON or
a reply without a parsable verdict makes that item a *counted skip* with its reason; the mean is
over graded items only, and with none graded it is ``None`` — never a silent zero.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from compass.eval.metrics import mean_stderr

log = logging.getLogger(__name__)

SYSTEM = "You are a helpful assistant."
RUBRIC = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level "
    "of detail of the response, and whether it is written in the language of the question."
    "{ref_rule}"
    " Begin your evaluation by providing a short explanation. Be as objective as possible. After "
    "providing your explanation, you must rate the response on a scale of 1 to 10 by strictly "
    'following this format: "[[rating]]", for example: "Rating: [[5]]".\n\n'
    "[Question]\n{question}\n\n{ref_block}[The Start of Assistant's Answer]\n{answer}\n"
    "[The End of Assistant's Answer]"
)
PAIRWISE = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the responses "
    "provided by two AI assistants to the user question displayed below. Choose the assistant "
    "that follows the user's instructions and answers the user's question better. Avoid any "
    "position biases and ensure that the order in which the responses were presented does not "
    "influence your decision. Do not let the length of the responses influence your evaluation. "
    "Be as objective as possible. After providing your explanation, output your final verdict by "
    'strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is '
    'better, and "[[C]]" for a tie.\n\n[User Question]\n{question}\n\n'
    "[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]"
)


class JudgeError(RuntimeError):
    """The judge endpoint failed (down, HTTP error, malformed reply); the item is skipped.

    ``str(e)`` is the reason that is counted; ``detail`` (e.g. the error body) goes with the item.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.detail = detail


@dataclass
class JudgeClient:
    url: str
    model: str = ""
    api_key: str = ""
    timeout_s: float = 120.0
    max_tokens: int = 512

    def complete(self, prompt: str) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model or None,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0.0,
            "max_tokens": self.max_tokens,
        }
        try:
            r = httpx.post(
                f"{self.url.rstrip('/')}/v1/chat/completions",
                json=body,
                headers=headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as e:
            raise JudgeError(f"endpoint unreachable: {type(e).__name__}") from None
        if r.status_code != 200:
            raise JudgeError(f"HTTP {r.status_code}", r.text[:300])
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise JudgeError("reply is not an OpenAI chat completion") from None
        if not isinstance(content, str):
            raise JudgeError("reply has no text content")
        return content


def parse_rating(text: str, lo: float = 1, hi: float = 10) -> float | None:
    """The ``[[rating]]`` of a judgement (last one wins); ``Rating: 7`` accepted as a fallback."""
    found = re.findall(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]", text) or re.findall(
        r"[Rr]ating:\s*\[?(\d+(?:\.\d+)?)", text
    )
    if not found:
        return None
    value = float(found[-1])
    return value if lo <= value <= hi else None


def parse_verdict(text: str) -> str | None:
    found = re.findall(r"\[\[\s*([ABC])\s*\]\]", text)
    return found[-1] if len(set(found)) == 1 else None  # conflicting verdicts: unparsable


@dataclass
class JudgeReport:
    n: int
    graded: int
    skipped: dict[str, int]
    metrics: dict[str, float | None]
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("n", "graded", "skipped", "metrics", "items")}


def _attempt(fn, *args) -> tuple[Any, str]:
    """(value, "") or (None, skip reason)."""
    try:
        value = fn(*args)
    except JudgeError as e:
        if e.detail:
            log.debug("judge error %s: %s", e, e.detail)
        return None, f"judge error: {e}" + (f" ({e.detail[:120]})" if e.detail else "")
    return (value, "") if value is not None else (None, "unparsable verdict")


def _grade_one(client: JudgeClient, item: dict[str, Any], rubric: str) -> dict[str, Any]:
    ref = item.get("reference")
    prompt = rubric.format(
        question=item["question"],
        answer=item["answer"],
        ref_rule=" Compare the response with the reference answer." if ref else "",
        ref_block=f"[Reference Answer]\n{ref}\n\n" if ref else "",
    )
    raw = ""

    def ask() -> float | None:
        nonlocal raw
        raw = client.complete(prompt)
        return parse_rating(raw)

    score, reason = _attempt(ask)
    return {**item, "score": score, "skip": reason, "judgement": raw}


def grade(
    items: list[dict[str, Any]], client: JudgeClient, workers: int = 4, rubric: str = RUBRIC
) -> JudgeReport:
    """Single-answer grading of ``{"question", "answer"[, "reference"]}`` items. ``rubric`` is a
    format string with ``{question}``, ``{answer}``, ``{ref_rule}`` and ``{ref_block}``."""
    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(lambda it: _grade_one(client, it, rubric), items))
    scores = [r["score"] for r in rows if not r["skip"]]
    return _report(rows, {"score": scores})


def _judge_pair(client: JudgeClient, item: dict[str, Any]) -> dict[str, Any]:
    """Both orders; the winner in the original labels ("A", "B", "tie") or a skip reason."""
    q, a, b = item["question"], item["answer_a"], item["answer_b"]
    first, r1 = _attempt(
        lambda: parse_verdict(client.complete(PAIRWISE.format(question=q, a=a, b=b)))
    )
    second, r2 = _attempt(
        lambda: parse_verdict(client.complete(PAIRWISE.format(question=q, a=b, b=a)))
    )
    if r1 or r2:
        return {**item, "winner": None, "skip": r1 or r2, "consistent": None}
    swapped = {"A": "B", "B": "A", "C": "C"}[second]
    consistent = first == swapped
    winner = {"A": "A", "B": "B", "C": "tie"}[first] if consistent else "tie"
    return {
        **item,
        "winner": winner,
        "skip": "",
        "consistent": consistent,
        "verdicts": [first, second],
    }


def pairwise(items: list[dict[str, Any]], client: JudgeClient, workers: int = 4) -> JudgeReport:
    """``{"question", "answer_a", "answer_b"}`` items: win rate of A (ties count half)."""
    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(lambda it: _judge_pair(client, it), items))
    done = [r for r in rows if not r["skip"]]
    wins = [1.0 if r["winner"] == "A" else 0.5 if r["winner"] == "tie" else 0.0 for r in done]
    consistent = [float(r["consistent"]) for r in done]
    return _report(rows, {"win_rate_a": wins, "position_consistency": consistent})


def _report(rows: list[dict[str, Any]], series: dict[str, list[float]]) -> JudgeReport:
    skipped = Counter(r["skip"] for r in rows if r["skip"])
    metrics: dict[str, float | None] = {}
    for name, values in series.items():
        m, se = mean_stderr(values) if values else (None, None)
        metrics[name], metrics[f"{name}_stderr"] = m, se
    graded = len(rows) - sum(skipped.values())
    if skipped:
        log.warning(
            "judge: %d of %d item(s) skipped: %s", sum(skipped.values()), len(rows), dict(skipped)
        )
    return JudgeReport(len(rows), graded, dict(skipped), metrics, rows)
