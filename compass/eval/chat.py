"""Chat-form requests: the prompt as a user turn rendered by the model's own chat template.

This is lm-evaluation-harness's ``--apply_chat_template`` meaning. A choice is scored as the
assistant's reply: its tokens are those the model is trained on after the generation prompt
(fast mode: the empty think block the template writes), with no end-of-turn token, so choices are
compared on their text alone. The reply's ids are cut from the ids of the whole rendered string at
the longest common prefix with the prompt's ids, so a tokenizer that merges the prompt's last
characters with the reply's first still scores exactly the tokens the model saw in training.

Backends with a local tokenizer and model (the Compass engine, ``hf:``) provide
``loglikelihood_ids`` and ``generate_ids``; the rendering and the think-block split live here, once.
A backend that renders chat elsewhere (an ``openai-chat:`` endpoint) provides its own
``generate_chat`` and says in ``chat_loglikelihood`` why it cannot score.
"""

from __future__ import annotations

from typing import Any

from compass.eval.backend import Unsupported, encode_text
from compass.inference.text import THINK_CLOSE

Messages = list[dict[str, Any]]


def chat_prompt(tokenizer, messages: Messages, enable_thinking: bool) -> str:
    """The conversation followed by the assistant's generation prompt, as text."""
    if hasattr(tokenizer, "render_chat"):  # a Compass tokenizer: its own renderer
        from compass.tokenizer.chat_template import render_text

        return render_text(messages, enable_thinking=enable_thinking, add_generation_prompt=True)
    if not getattr(tokenizer, "chat_template", None):
        raise Unsupported(
            "the tokenizer has no chat template, so the chat forms cannot be rendered; score "
            "this model in the raw form (--form raw)"
        )
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=enable_thinking
    )


def reply_pair(tokenizer, prompt: str, reply: str) -> tuple[list[int], list[int]]:
    """(context ids, reply ids) of ``prompt + reply`` split after their common prefix."""
    ctx, whole = encode_text(tokenizer, prompt), encode_text(tokenizer, prompt + reply)
    k = 0
    while k < min(len(ctx), len(whole)) and ctx[k] == whole[k]:
        k += 1
    return whole[:k], whole[k:]


def _think_close_id(tokenizer) -> int | None:
    close = getattr(tokenizer, "think_end_id", None)
    if close is not None:
        return close
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    return vocab.get(THINK_CLOSE)


def _decode(tokenizer, ids: list[int]) -> str:
    try:
        from transformers import PreTrainedTokenizerBase

        if isinstance(tokenizer, PreTrainedTokenizerBase):
            return tokenizer.decode(ids, skip_special_tokens=True)
    except ImportError:
        pass
    return tokenizer.decode(ids, skip_special=True)


def reply_content(tokenizer, ids: list[int], deep: bool) -> str:
    """The answer after the think block; a deep-mode reply that never closes it has none."""
    close = _think_close_id(tokenizer)
    if close is not None and close in ids:
        ids = ids[len(ids) - ids[::-1].index(close) :]
    elif deep:
        return ""
    return _decode(tokenizer, ids).strip()


def chat_loglikelihood(
    backend, requests: list[tuple[Messages, str]], enable_thinking: bool = False
) -> list[tuple[float, bool]]:
    """Log-likelihood of each reply as the assistant's turn after ``messages``."""
    own = getattr(backend, "chat_loglikelihood", None)
    if own is not None:
        return own(requests, enable_thinking)
    tok = _local_tokenizer(backend, "loglikelihood_ids")
    pairs = [reply_pair(tok, chat_prompt(tok, m, enable_thinking), r) for m, r in requests]
    return backend.loglikelihood_ids(pairs)


def generate_chat(
    backend, requests: list[tuple[Messages, int]], enable_thinking: bool
) -> list[str]:
    """Greedy replies (their answer part, think block removed) to each conversation."""
    own = getattr(backend, "generate_chat", None)
    if own is not None:
        return own(requests, enable_thinking)
    tok = _local_tokenizer(backend, "generate_ids")
    prompts = [encode_text(tok, chat_prompt(tok, m, enable_thinking)) for m, _ in requests]
    end = end_of_turn(tok)
    outs = backend.generate_ids(prompts, [n for _, n in requests], end)
    return [reply_content(tok, _until(ids, end), enable_thinking) for ids in outs]


def end_of_turn(tokenizer) -> list[int]:
    """The id that closes an assistant turn in this template (``<|im_end|>`` in Compass's), read
    off a rendered turn: a model's end-of-text id is not always its end of turn."""
    mark = "Zq7"
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": mark}]
    if hasattr(tokenizer, "render_chat"):
        from compass.tokenizer.chat_template import render_text

        text = render_text(msgs)
    else:
        text = tokenizer.apply_chat_template(msgs, tokenize=False)
    tail = text[text.rindex(mark) + len(mark) :].strip()
    return encode_text(tokenizer, tail)[:1] if tail else []


def _until(ids: list[int], end: list[int]) -> list[int]:
    for i, t in enumerate(ids):
        if t in end:
            return ids[:i]
    return ids


def _local_tokenizer(backend, method: str):
    tok = getattr(backend, "tokenizer", None)
    if tok is None or not hasattr(backend, method):
        raise Unsupported(
            f"{type(backend).__name__} cannot render a chat template; score it in the raw form"
        )
    return tok
