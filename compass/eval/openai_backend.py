"""An OpenAI-compatible server (vLLM, ``compass serve``, a hosted API) as an evaluation backend.

Log-likelihoods go through ``/v1/completions`` with ``echo`` + ``logprobs`` (the prompt's own token
log-probabilities), as lm-eval's ``local-completions`` asks. With the model's tokenizer the prompt
is sent as token ids split by :func:`compass.eval.backend.encode_pair`, so scores match the engine
and lm-eval exactly; without one the text is sent and the continuation is found by the tokens' text
offsets. A server that refuses or omits prompt log-probabilities raises :class:`Unsupported`: the
harness skips that multiple-choice task and says why. Generation is greedy through completions or,
for chat models, chat completions. Transient failures (connection errors, 429, 5xx) are retried with
exponential backoff; at most ``concurrency`` requests are in flight.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from compass.eval.backend import Unsupported, cut_until, encode_pair

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class EndpointError(RuntimeError):
    """The endpoint failed for good (unreachable after retries, or an error that retrying cannot
    fix); the message names the model and the HTTP status or error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _prefix_id(tokenizer) -> int:
    """lm-eval scores an empty context after the end-of-text token."""
    for attr in ("eos_id", "eos_token_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return 0


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        model: str = "",
        tokenizer=None,
        api_key: str = "",
        chat: bool = False,
        concurrency: int = 4,
        batch_size: int = 8,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 300.0,
    ):
        url = base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") else url + "/v1"
        self.name = f"openai:{base_url}" + (f"#{model}" if model else "")
        self.tokenizer, self.chat = tokenizer, chat
        self.concurrency, self.batch_size = max(1, concurrency), max(1, batch_size)
        self.max_retries, self.backoff_s = max_retries, backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=timeout_s)
        self.model = model or self._first_model()

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        for attempt in range(self.max_retries + 1):
            try:
                r = self.client.request(method, self.base_url + path, json=body)
            except httpx.HTTPError as e:
                status, reason = None, f"unreachable ({type(e).__name__}: {e})"
            else:
                if r.status_code == 200:
                    try:
                        return r.json()
                    except ValueError:
                        raise EndpointError(f"{self.name}: {path} answered non-JSON") from None
                status, reason = r.status_code, f"HTTP {r.status_code}: {r.text[:300]}"
                if status not in RETRY_STATUS:
                    raise EndpointError(f"{self.name}: {path} {reason}", status)
            if attempt < self.max_retries:
                delay = self.backoff_s * 2**attempt
                log.warning("%s: %s %s; retrying in %.1fs", self.name, path, reason, delay)
                time.sleep(delay)
        raise EndpointError(
            f"{self.name}: {path} {reason} after {self.max_retries + 1} tries; is the server up "
            "at that URL?",
            status,
        )

    def _first_model(self) -> str:
        try:
            data = self._request("GET", "/models")["data"]
            return str(data[0]["id"])
        except (EndpointError, KeyError, IndexError, TypeError) as e:
            raise EndpointError(
                f"{self.name}: cannot list /v1/models ({e}); name the model: openai:BASE_URL#MODEL"
            ) from None

    def _map(self, fn, chunks: list) -> list:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(fn, chunks))

    # -- log-likelihood -------------------------------------------------------------------------

    def _prompt(self, context: str, continuation: str) -> tuple[Any, int]:
        """(prompt, context length): token ids and a token count with a tokenizer, else text and
        a character count."""
        if self.tokenizer is None:
            n_spaces = len(context) - len(context.rstrip())
            split = len(context) - n_spaces  # lm-eval's rule: trailing spaces join the answer
            return context + continuation, split
        ctx, cont = encode_pair(self.tokenizer, context, continuation)
        ctx = ctx or [_prefix_id(self.tokenizer)]
        return ctx + cont, len(ctx)

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        prompts = [self._prompt(c, x) for c, x in requests]
        chunks = [prompts[i : i + self.batch_size] for i in range(0, len(prompts), self.batch_size)]
        return [r for chunk in self._map(self._score_chunk, chunks) for r in chunk]

    def _score_chunk(self, chunk: list[tuple[Any, int]]) -> list[tuple[float, bool]]:
        body = {
            "model": self.model,
            "prompt": [p for p, _ in chunk],
            "max_tokens": 1,  # some servers refuse 0; the generated token is cut off below
            "temperature": 0.0,
            "logprobs": 1,
            "echo": True,
        }
        try:
            out = self._request("POST", "/completions", body)
        except EndpointError as e:
            if e.status is not None and 400 <= e.status < 500 and e.status != 429:
                raise Unsupported(
                    f"the endpoint refused log-likelihood requests ({e}); multiple-choice tasks "
                    "need /v1/completions with echo + logprobs (vLLM, `compass serve`)"
                ) from None
            raise
        choices = sorted(out.get("choices") or [], key=lambda c: c.get("index", 0))
        if len(choices) != len(chunk):
            raise EndpointError(f"{self.name}: {len(chunk)} prompts, {len(choices)} choices back")
        return [self._parse(c, p, n) for c, (p, n) in zip(choices, chunk)]

    def _parse(self, choice: dict, prompt: Any, ctx_len: int) -> tuple[float, bool]:
        lp = choice.get("logprobs") or {}
        lps, tokens, tops = lp.get("token_logprobs"), lp.get("tokens"), lp.get("top_logprobs")
        if not lps or not tokens:
            raise Unsupported(
                f"{self.name} returned no prompt log-probabilities (echo + logprobs); "
                "multiple-choice tasks need them — serve the model with vLLM or `compass serve`, "
                "or score it through hf:DIR"
            )
        if isinstance(prompt, str):  # text prompt: positions by character offsets
            offsets = lp.get("text_offset") or []
            start = sum(1 for o in offsets if o < ctx_len)
            end = sum(1 for o in offsets if o < len(prompt))
        else:
            start, end = ctx_len, len(prompt)
        if not 0 < start < end <= len(lps):
            raise Unsupported(f"{self.name}: echoed log-probabilities do not cover the prompt")
        ll = sum(float(x) for x in lps[start:end])
        greedy = all(
            top and tok == max(top, key=top.get)
            for tok, top in zip(tokens[start:end], (tops or [None] * end)[start:end])
        )
        return ll, bool(greedy)

    # -- generation -----------------------------------------------------------------------------

    def generate_until(self, requests: list[tuple[str, list[str], int]]) -> list[str]:
        return self._map(self._generate_one, requests)

    def _generate_one(
        self, request: tuple[str, list[str], int], messages: list | None = None, deep: bool = False
    ) -> str:
        context, until, max_tokens = request
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": 0.0}
        stops = [s for s in until if s][:4]  # the OpenAI API takes at most four
        if stops:
            body["stop"] = stops
        if self.chat:
            body["messages"] = messages or [{"role": "user", "content": context}]
            if messages is not None:  # the chat forms name the mode; vLLM's spelling
                body["chat_template_kwargs"] = {"enable_thinking": deep}
            out = self._request("POST", "/chat/completions", body)
        else:
            body["prompt"] = context
            out = self._request("POST", "/completions", body)
        try:
            choice = out["choices"][0]
            text = choice["message"]["content"] if self.chat else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(f"{self.name}: reply is not an OpenAI completion") from None
        return cut_until(text or "", until)

    # -- chat forms -----------------------------------------------------------------------------

    def generate_chat(self, requests: list[tuple[list, int]], enable_thinking: bool) -> list[str]:
        """Replies through chat completions: the server renders the template and keeps the
        reasoning apart (``reasoning_content``), so ``content`` is the answer."""
        if not self.chat:
            raise Unsupported(
                f"{self.name} is a completions model; the chat forms generate through chat "
                "completions: pass it as openai-chat:BASE_URL[#MODEL]"
            )
        return self._map(
            lambda r: self._generate_one(("", [], r[1]), r[0], enable_thinking), requests
        )

    def chat_loglikelihood(self, requests: list, enable_thinking: bool = False) -> list:
        raise Unsupported(
            f"{self.name}: chat completions return no log-probabilities of a given reply, so "
            "option tasks cannot be scored in the chat forms here; score the model through hf:DIR "
            "or a Compass checkpoint (the raw form still scores it through /v1/completions)"
        )
