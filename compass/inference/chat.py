"""Chat on top of the engine: OpenAI-format messages in, reasoning and answer out.

``enable_thinking`` (on the params, the Qwen3/vLLM convention) goes to the tokenizer's chat
template; the output's ``<think>…</think>`` block becomes ``reasoning_content`` and the rest
``content``, as vLLM's reasoning parsers report them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from compass.inference.params import SamplingParams
from compass.inference.reasoning import ThinkSplitter
from compass.inference.request import Completion


@dataclass
class ChatDelta:
    reasoning: str  # new reasoning text ("" when none)
    content: str  # new answer text
    finished: bool = False
    finish_reason: str | None = None


def render_chat(tokenizer, messages: list[dict], enable_thinking: bool) -> list[int]:
    if tokenizer is None or not hasattr(tokenizer, "render_chat"):
        raise ValueError(
            "chat needs a tokenizer with a chat template: pass tokenizer=DIR (a directory "
            "written by `compass tokenizer train`)"
        )
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ValueError(f"messages[{i}] must be a dict with 'role' and 'content'")
    ids, _ = tokenizer.render_chat(
        messages, enable_thinking=enable_thinking, add_generation_prompt=True
    )
    return list(ids)


def _answer_ids(engine, token_ids: list[int], params: SamplingParams) -> list[int]:
    """The generated ids without a final EOS / stop token (they are not part of the answer)."""
    if token_ids and (token_ids[-1] in engine.eos_ids or token_ids[-1] in params.stop_token_ids):
        return token_ids[:-1]
    return token_ids


def _cut_at_stop(text: str, stop: list[str]) -> str:
    for s in stop:
        text = text.split(s, 1)[0]
    return text


def chat(engine, messages: list[dict], params: SamplingParams | None = None) -> Completion:
    params = params or SamplingParams()
    prompt = render_chat(engine.tokenizer, messages, params.enable_thinking)
    out = engine.generate([prompt], params)[0]
    splitter = ThinkSplitter(engine.tokenizer, prompt)
    splitter.feed(_answer_ids(engine, out.token_ids, params))
    reasoning, content = splitter.result()
    out.reasoning_content = _cut_at_stop(reasoning, params.stop) if reasoning else reasoning
    out.content = _cut_at_stop(content, params.stop)
    return out


def stream_chat(
    engine, messages: list[dict], params: SamplingParams | None = None
) -> Iterator[ChatDelta]:
    params = params or SamplingParams()
    prompt = render_chat(engine.tokenizer, messages, params.enable_thinking)
    splitter = ThinkSplitter(engine.tokenizer, prompt, params.stop)
    for out in engine.stream(prompt, params):
        ids = out.new_token_ids
        if out.finished:
            ids = _answer_ids(engine, ids, params)
        reasoning, content = splitter.feed(ids)
        if out.finished:
            tail_r, tail_c = splitter.flush()
            reasoning, content = reasoning + tail_r, content + tail_c
        yield ChatDelta(reasoning, content, out.finished, out.finish_reason)
