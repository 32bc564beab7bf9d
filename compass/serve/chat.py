"""``POST /v1/chat/completions``: chat template, think mode, ``reasoning_content``, streaming.

Think mode follows vLLM: ``chat_template_kwargs: {"enable_thinking": true}`` renders the prompt
for deep reasoning, and what the model writes inside ``<think>…</think>`` is returned as
``reasoning_content`` (in the message, or in stream deltas) apart from ``content``.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

from fastapi.responses import StreamingResponse

from compass.serve.backend import TokenLogprob
from compass.serve.errors import APIError
from compass.serve.protocol import ChatCompletionRequest
from compass.serve.service import Output, Service, until_disconnect
from compass.serve.sse import guarded, sse_event, sse_stream


def _chat_logprobs(lps: list[TokenLogprob], top_n: int) -> dict:
    def entry(tok: str, lp: float) -> dict:
        return {"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8"))}

    return {
        "content": [
            {
                **entry(lp.token, lp.logprob),
                "top_logprobs": [entry(t, v) for t, v in lp.top[:top_n]],
            }
            for lp in lps
        ]
    }


def _prepare(service: Service, req: ChatCompletionRequest):
    service.check_model(req.model)
    try:
        thinking = req.enable_thinking()
    except ValueError as e:
        raise APIError(400, str(e), param="chat_template_kwargs.enable_thinking") from None
    messages = []
    for m in req.messages:
        msg = {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        if m.reasoning_content:
            msg["reasoning_content"] = m.reasoning_content
        messages.append(msg)
    try:
        ids = service.backend.render_chat(messages, thinking)
    except (ValueError, KeyError) as e:
        raise APIError(
            400, f"'messages' cannot be rendered by the chat template: {e}", param="messages"
        ) from None
    service.check_prompt(ids, "messages")
    param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
    max_tokens = service.max_tokens(req.max_completion_tokens or req.max_tokens, param)
    if max_tokens == 0:
        raise APIError(400, f"'{param}' must be at least 1", param=param)
    top_n = req.top_logprobs or 0
    if req.top_logprobs is not None and not req.logprobs:
        raise APIError(400, "'top_logprobs' needs 'logprobs': true", param="top_logprobs")
    params = service.gen_params(req, max_tokens, top_n if req.logprobs else None)
    seeds = [None if req.seed is None else req.seed + j for j in range(req.n)]
    jobs = [(ids, dataclasses.replace(params, seed=s)) for s in seeds]
    return ids, thinking, jobs, top_n


async def create_chat_completion(service: Service, req: ChatCompletionRequest, who: str, request):
    t0 = time.monotonic()
    ids, thinking, jobs, top_n = _prepare(service, req)
    rid = f"chatcmpl-{uuid.uuid4().hex}"
    started = service.start(jobs)
    if req.stream:
        return StreamingResponse(
            guarded(_stream(service, req, rid, started, ids, top_n, who, t0)),
            media_type="text/event-stream",
        )
    parsers = [
        service.backend.reasoning_parser(ids, thinking, list(req.stop or [])) for _ in started
    ]
    outs = await until_disconnect(
        request,
        service.gather(
            [_collect(service, r, q, len(ids), p) for (r, q), p in zip(started, parsers)]
        ),
    )
    choices = []
    for k, (out, reasoning, content) in enumerate(outs):
        message = {
            "role": "assistant",
            "content": content,
            "reasoning_content": reasoning if (thinking or reasoning) else None,
        }
        lp = _chat_logprobs(out.logprobs, top_n) if req.logprobs else None
        choices.append(
            {"index": k, "message": message, "logprobs": lp, "finish_reason": out.finish_reason}
        )
    outs = [o for o, _, _ in outs]
    c_tok = sum(len(o.token_ids) for o in outs)
    service.account(who, "chat", len(ids), c_tok, t0)
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": service.backend.model_name,
        "choices": choices,
        "usage": {
            "prompt_tokens": len(ids),
            "completion_tokens": c_tok,
            "total_tokens": len(ids) + c_tok,
        },
    }


async def _collect(service: Service, rid, q, n_prompt: int, parser) -> tuple[Output, str, str]:
    out, reasoning, content = Output(prompt_tokens=n_prompt), "", ""
    async for d in service.deltas(rid, q):
        out.add(d)
        r, c = parser.feed(d)
        if d.finished:
            r2, c2 = parser.flush()
            r, c = r + r2, c + c2
        reasoning, content = reasoning + r, content + c
    return out, reasoning, content


async def _stream(service, req, rid, started, ids, top_n, who, t0):
    n_prompt, thinking = len(ids), req.enable_thinking()
    model, created = service.backend.model_name, int(time.time())
    parsers = [
        service.backend.reasoning_parser(ids, thinking, list(req.stop or [])) for _ in started
    ]
    completion_tokens = 0

    def chunk(index, delta, finish=None, logprobs=None):
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return sse_event(
            {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
            }
        )

    for k in range(len(started)):
        yield chunk(k, {"role": "assistant", "content": ""})
    async for k, d in sse_stream(service, started):
        completion_tokens += len(d.token_ids)
        reasoning, content = parsers[k].feed(d)
        if d.finished:
            r2, c2 = parsers[k].flush()
            reasoning, content = reasoning + r2, content + c2
        delta = {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        if content:
            delta["content"] = content
        lp = _chat_logprobs(d.logprobs, top_n) if req.logprobs and d.logprobs else None
        if delta or lp:
            yield chunk(k, delta, logprobs=lp)
        if d.finished:
            yield chunk(k, {}, finish=d.finish_reason or "stop")
    service.account(who, "chat", n_prompt, completion_tokens, t0)
    if req.stream_options and req.stream_options.include_usage:
        usage = {
            "prompt_tokens": n_prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": n_prompt + completion_tokens,
        }
        yield sse_event(
            {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    yield "data: [DONE]\n\n"
