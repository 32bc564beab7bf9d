"""The thin text layer over token ids: loading the Compass tokenizer when it exists, and reading
the few things the engine needs from it (EOS, the think-block ids) whatever their spelling.

The engine itself works on ids; a tokenizer only adds text in/out, stop strings and chat.
"""

from __future__ import annotations

from pathlib import Path

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def load_tokenizer(path: str | Path):
    try:
        from compass.tokenizer import load_tokenizer as _load
    except ImportError as e:
        raise RuntimeError(
            f"cannot load the tokenizer at {path}: compass.tokenizer.load_tokenizer is not "
            "available yet — run the engine on token ids, or pass a tokenizer object"
        ) from e
    return _load(path)


def _first_attr(tok, names: tuple[str, ...]):
    for name in names:
        value = getattr(tok, name, None)
        if value is not None:
            return value() if callable(value) else value
    return None


def eos_ids(tok, model_eos: int | None = None) -> set[int]:
    """End-of-text plus end-of-turn (a chat answer ends with ``<|im_end|>``)."""
    ids = set()
    if tok is not None:
        for names in (("eos_ids", "eos_id", "eos_token_id"), ("im_end_id",)):
            found = _first_attr(tok, names)
            if isinstance(found, int):
                ids.add(found)
            elif found is not None:
                ids.update(int(i) for i in found)
    if model_eos is not None:
        ids.add(model_eos)
    return ids


def think_ids(tok) -> tuple[int | None, int | None]:
    """Ids of ``<think>`` and ``</think>`` when the tokenizer has them as single tokens."""
    if tok is None:
        return None, None
    pair = _first_attr(tok, ("think_ids",))
    if pair is not None:
        return int(pair[0]), int(pair[1])
    open_id = _first_attr(tok, ("think_start_id", "think_open_id", "think_id"))
    close_id = _first_attr(tok, ("think_end_id", "think_close_id", "end_think_id"))
    if open_id is None or close_id is None:
        encode = getattr(tok, "encode", None)
        try:
            o, c = encode(THINK_OPEN), encode(THINK_CLOSE)
        except Exception:
            return None, None
        return (o[0], c[0]) if len(o) == 1 and len(c) == 1 else (None, None)
    return int(open_id), int(close_id)


def encode(tok, text: str) -> list[int]:
    if tok is None:
        raise ValueError(
            "a text prompt needs a tokenizer: pass tokenizer=DIR to the engine (or token ids)"
        )
    return list(tok.encode(text))
