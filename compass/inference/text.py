"""The thin text layer over token ids: the ids that end an answer or delimit its reasoning, and
encoding a text prompt.

The engine itself works on ids; a tokenizer (``compass.tokenizer.CompassTokenizer``) only adds
text in/out, stop strings and chat.
"""

from __future__ import annotations

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def eos_ids(tok, model_eos: int | None = None) -> set[int]:
    """End-of-text plus end-of-turn (a chat answer ends with ``<|im_end|>``)."""
    ids = {model_eos} if model_eos is not None else set()
    if tok is not None:
        ids.add(tok.eos_id)
        # A tokenizer without chat tokens (a test's byte tokenizer) has no end of turn.
        if getattr(tok, "im_end_id", None) is not None:
            ids.add(tok.im_end_id)
    return ids


def think_ids(tok) -> tuple[int | None, int | None]:
    """Ids of ``<think>`` and ``</think>``; (None, None) for a tokenizer without them, whose
    reasoning is then split on the text."""
    if tok is None or getattr(tok, "think_start_id", None) is None:
        return None, None
    return tok.think_start_id, tok.think_end_id


def encode(tok, text: str) -> list[int]:
    if tok is None:
        raise ValueError(
            "a text prompt needs a tokenizer: pass tokenizer=DIR to the engine (or token ids)"
        )
    return list(tok.encode(text))
