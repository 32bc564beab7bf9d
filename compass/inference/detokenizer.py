"""Token ids to text, a few tokens at a time, and stop-string detection.

Decoding only the newest tokens gives wrong text at piece boundaries (a SentencePiece word loses
its leading space; a multi-byte character split over two tokens decodes as U+FFFD). So, like
vLLM, each step decodes a short window twice — with and without the new tokens — and emits the
difference; text ending in U+FFFD waits for the next token. While a stop string could still be
forming at the end of the text, that tail is held back, so no stop string is ever streamed.
"""

from __future__ import annotations

import inspect

REPLACEMENT = "\ufffd"
# Tokens decoded before the new ones so the window's first word keeps its spacing.
CONTEXT_TOKENS = 6


def _decoder(tokenizer, skip_special: bool):
    """``decode`` without special tokens where the tokenizer supports it (vLLM's default: chat
    control tokens are not text; the reasoning split works on ids, not on ``<think>`` text)."""
    try:
        params = inspect.signature(tokenizer.decode).parameters
    except (TypeError, ValueError):
        params = {}
    for name in ("skip_special", "skip_special_tokens"):
        if skip_special and name in params:
            return lambda ids: tokenizer.decode(ids, **{name: True})
    return tokenizer.decode


class IncrementalDetokenizer:
    def __init__(self, tokenizer, stop: list[str] | None = None, skip_special: bool = True):
        self.decode = _decoder(tokenizer, skip_special)
        self.stop = list(stop or [])
        self.ids: list[int] = []
        self.text = ""  # all text decoded so far
        self.emitted = 0  # characters of self.text already handed out
        self._prefix = 0  # window start (token index)
        self._read = 0  # tokens already turned into self.text

    def add(self, new_ids: list[int]) -> tuple[str, bool]:
        """Append tokens; return (text delta safe to emit, whether a stop string was hit)."""
        self.ids.extend(new_ids)
        prefix_text = self.decode(self.ids[self._prefix : self._read])
        window_text = self.decode(self.ids[self._prefix :])
        if len(window_text) > len(prefix_text) and not window_text.endswith(REPLACEMENT):
            search_from = max(0, len(self.text) - max((len(s) for s in self.stop), default=0))
            self.text += window_text[len(prefix_text) :]
            self._prefix = max(self._read, len(self.ids) - CONTEXT_TOKENS)
            self._read = len(self.ids)
            hit = self._find_stop(search_from)
            if hit is not None:
                self.text = self.text[:hit]
                return self._take(len(self.text)), True
        return self._take(len(self.text) - self._held_back()), False

    def flush(self) -> str:
        """Everything not yet emitted (at the end of a request), including tokens held back as an
        incomplete character: they decode as U+FFFD now, as a full decode would show them."""
        if self._read < len(self.ids):
            prefix_text = self.decode(self.ids[self._prefix : self._read])
            self.text += self.decode(self.ids[self._prefix :])[len(prefix_text) :]
            self._prefix = self._read = len(self.ids)
            hit = self._find_stop(
                max(0, self.emitted - max((len(s) for s in self.stop), default=0))
            )
            if hit is not None:
                self.text = self.text[:hit]
        return self._take(len(self.text))

    def _take(self, upto: int) -> str:
        upto = max(upto, self.emitted)
        delta = self.text[self.emitted : upto]
        self.emitted = upto
        return delta

    def _find_stop(self, start: int) -> int | None:
        hits = [i for s in self.stop if (i := self.text.find(s, start)) >= 0]
        return min(hits) if hits else None

    def _held_back(self) -> int:
        """Length of the longest tail of the text that begins some stop string."""
        best = 0
        for s in self.stop:
            for n in range(min(len(s) - 1, len(self.text)), best, -1):
                if self.text.endswith(s[:n]):
                    best = n
                    break
        return best
