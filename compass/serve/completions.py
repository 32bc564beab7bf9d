"""``POST /v1/completions``: text or token-id prompts, ``n`` choices, ``echo`` and ``logprobs``.

``echo`` with ``logprobs`` returns the prompt's own token log-probabilities (the first token has
none), which is how lm-eval's ``local-completions`` scores multiple-choice tasks; with
``max_tokens: 0`` nothing is generated.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from fastapi.responses import StreamingResponse

from compass.serve.backend import TokenLogprob
from compass.serve.errors import APIError
from compass.serve.protocol import CompletionRequest
from compass.serve.service import Output, Service, until_disconnect
from compass.serve.sse import guarded, sse_event, sse_stream


def prompt_ids(service: Service, req: CompletionRequest) -> list[list[int]]:
    p = req.prompt
    try:
        if isinstance(p, str):
            batch = [service.backend.encode(p)]
        elif p and all(isinstance(x, int) for x in p):
            batch = [list(p)]
        elif p and all(isinstance(x, str) for x in p):
            batch = [service.backend.encode(x) for x in p]
        else:
            batch = [list(x) for x in p]
    except ValueError as e:
        raise APIError(400, str(e), param="prompt") from None
    if not batch:
        raise APIError(400, "'prompt' is an empty list", param="prompt")
    for i, ids in enumerate(batch):
        service.check_prompt(ids, "prompt" if len(batch) == 1 else f"prompt[{i}]")
    return batch


def logprobs_block(lps: list[TokenLogprob | None], offset0: int = 0) -> dict:
    """OpenAI's legacy completions logprobs: parallel lists per token."""
    tokens, token_lps, tops, offsets = [], [], [], []
    pos = offset0
    for lp in lps:
        if lp is None:  # the first prompt token: nothing precedes it
            continue
        tokens.append(lp.token)
        token_lps.append(lp.logprob)
        tops.append(dict(lp.top) if lp.top else {lp.token: lp.logprob})
        offsets.append(pos)
        pos += len(lp.token)
    return {
        "tokens": tokens,
        "token_logprobs": token_lps,
        "top_logprobs": tops,
        "text_offset": offsets,
    }


def _echo_logprobs(service: Service, ids: list[int], lps: list[TokenLogprob | None]) -> dict:
    block = logprobs_block([lp for lp in lps if lp is not None])
    first = service.backend.decode(ids[:1])
    block["tokens"].insert(0, first)
    block["token_logprobs"].insert(0, None)
    block["top_logprobs"].insert(0, None)
    block["text_offset"] = [0] + [o + len(first) for o in block["text_offset"]]
    return block


async def create_completion(service: Service, req: CompletionRequest, who: str, request):
    t0 = time.monotonic()
    service.check_model(req.model)
    batch = prompt_ids(service, req)
    max_tokens = service.max_tokens(req.max_tokens, "max_tokens")
    if max_tokens == 0 and not req.echo:
        raise APIError(
            400, "'max_tokens' is 0 without 'echo': nothing would be returned", param="max_tokens"
        )
    if req.stream and req.echo:
        raise APIError(400, "'echo' is not supported with 'stream'", param="echo")
    params = service.gen_params(req, max(max_tokens, 1), req.logprobs)
    jobs = [(ids, replace(params, seed=_seed(req.seed, j))) for ids in batch for j in range(req.n)]
    rid = f"cmpl-{uuid.uuid4().hex}"
    if req.stream:
        started = service.start(jobs)
        return StreamingResponse(
            guarded(_stream(service, req, rid, started, [len(ids) for ids, _ in jobs], who, t0)),
            media_type="text/event-stream",
        )
    return await until_disconnect(
        request, _complete(service, req, rid, batch, jobs, max_tokens, who, t0)
    )


def _prompt_text(service: Service, prompt, batch: list[list[int]], i: int) -> str:
    """The prompt as the client wrote it when it was text; decoded when it was token ids."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        return prompt[i]
    return service.backend.decode(batch[i])


def _seed(seed: int | None, j: int) -> int | None:
    return None if seed is None else seed + j  # n choices with one seed must still differ


async def _complete(service, req, rid, batch, jobs, max_tokens, who, t0) -> dict:
    if max_tokens > 0:
        started = service.start(jobs)
        outs = await service.gather(
            [service.collect(r, q, len(ids)) for (r, q), (ids, _) in zip(started, jobs)]
        )
    else:
        outs = [Output(prompt_tokens=len(ids), finish_reason="length") for ids, _ in jobs]
    prompt_lps = {}
    if req.echo and req.logprobs is not None:
        for i, ids in enumerate(batch):
            try:
                prompt_lps[i] = await service.loop.run_job(
                    lambda ids=ids: service.backend.prompt_logprobs(ids, req.logprobs)
                )
            except ValueError as e:
                raise APIError(400, f"cannot score the prompt: {e}", param="prompt") from None
    choices = []
    for k, out in enumerate(outs):
        i = k // req.n
        text, lp = out.text, None
        if req.logprobs is not None:
            lp = logprobs_block(out.logprobs)
        if req.echo:
            prompt_text = _prompt_text(service, req.prompt, batch, i)
            text = prompt_text + text
            if lp is not None:
                echo = _echo_logprobs(service, batch[i], prompt_lps[i])
                shift = len(prompt_text)
                lp = {
                    "tokens": echo["tokens"] + lp["tokens"],
                    "token_logprobs": echo["token_logprobs"] + lp["token_logprobs"],
                    "top_logprobs": echo["top_logprobs"] + lp["top_logprobs"],
                    "text_offset": echo["text_offset"] + [o + shift for o in lp["text_offset"]],
                }
        choices.append(
            {"index": k, "text": text, "logprobs": lp, "finish_reason": out.finish_reason}
        )
    p_tok = sum(len(ids) for ids in batch)
    c_tok = sum(len(o.token_ids) for o in outs)
    service.account(who, "completions", p_tok, c_tok, t0)
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": service.backend.model_name,
        "choices": choices,
        "usage": {
            "prompt_tokens": p_tok,
            "completion_tokens": c_tok,
            "total_tokens": p_tok + c_tok,
        },
    }


async def _stream(service, req, rid, started, prompt_lens, who, t0):
    model, created = service.backend.model_name, int(time.time())
    completion_tokens = 0

    def chunk(choices, usage=None):
        body = {
            "id": rid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if usage is not None:
            body["usage"] = usage
        return sse_event(body)

    async for index, d in sse_stream(service, started):
        completion_tokens += len(d.token_ids)
        lp = logprobs_block(d.logprobs) if req.logprobs is not None and d.logprobs else None
        if d.text or d.finished or lp:
            finish = (d.finish_reason or "stop") if d.finished else None
            yield chunk([{"index": index, "text": d.text, "logprobs": lp, "finish_reason": finish}])
    p_tok = sum(prompt_lens)
    service.account(who, "completions", p_tok, completion_tokens, t0)
    if req.stream_options and req.stream_options.include_usage:
        usage = {
            "prompt_tokens": p_tok,
            "completion_tokens": completion_tokens,
            "total_tokens": p_tok + completion_tokens,
        }
        yield chunk([], usage)
    yield "data: [DONE]\n\n"
