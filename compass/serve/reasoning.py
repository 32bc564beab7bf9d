"""Split a streamed answer into ``reasoning_content`` and ``content`` (think mode, report §5).

In think mode the model writes ``<think> … </think>`` and then the answer. Some chat templates
put the opening tag in the prompt, so the parser starts inside the reasoning block and drops an
opening tag if the output repeats it. Tags can be split across deltas: a tail that could be the
start of a tag is held back until the next delta decides it. Without think mode all text is
content, as vLLM's reasoning parsers do when thinking is off.
"""

from __future__ import annotations


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class ReasoningSplitter:
    def __init__(self, enabled: bool, open_tag: str = "<think>", close_tag: str = "</think>"):
        self.open_tag, self.close_tag = open_tag, close_tag
        self.in_reasoning = enabled
        self._at_start = enabled  # an opening tag is only stripped before any reasoning text
        self._held = ""
        self._content_started = not enabled  # newlines right after </think> are layout

    def feed(self, delta: str) -> tuple[str, str]:
        """New text -> (reasoning delta, content delta)."""
        text = self._held + delta
        self._held = ""
        reasoning = ""
        if self.in_reasoning:
            if self._at_start:
                stripped = text.lstrip()
                if self.open_tag.startswith(stripped) and len(stripped) < len(self.open_tag):
                    self._held = text  # could still become the opening tag
                    return "", ""
                if stripped.startswith(self.open_tag):
                    text = stripped[len(self.open_tag) :]
                self._at_start = False
            end = text.find(self.close_tag)
            if end < 0:
                keep = _partial_suffix(text, self.close_tag)
                self._held = text[len(text) - keep :] if keep else ""
                return text[: len(text) - keep], ""
            reasoning, text = text[:end], text[end + len(self.close_tag) :]
            self.in_reasoning = False
        if not self._content_started:
            text = text.lstrip("\n")
            self._content_started = bool(text)
        return reasoning, text

    def flush(self) -> tuple[str, str]:
        """At the end of generation: whatever was held back, on the side it belongs to."""
        held, self._held = self._held, ""
        return (held, "") if self.in_reasoning else ("", held)


class TextReasoningParser:
    """:class:`ReasoningSplitter` behind the backend's ``reasoning_parser`` protocol, for engines
    whose text deltas keep the think tags."""

    def __init__(self, enabled: bool, open_tag: str = "<think>", close_tag: str = "</think>"):
        self.splitter = ReasoningSplitter(enabled, open_tag, close_tag)

    def feed(self, delta) -> tuple[str, str]:
        return self.splitter.feed(delta.text)

    def flush(self) -> tuple[str, str]:
        return self.splitter.flush()


def split_reasoning(
    text: str, enabled: bool, open_tag: str = "<think>", close_tag: str = "</think>"
):
    """Non-streaming: the whole output -> (reasoning or None, content)."""
    sp = ReasoningSplitter(enabled, open_tag, close_tag)
    r1, c1 = sp.feed(text)
    r2, c2 = sp.flush()
    reasoning = r1 + r2
    return (reasoning if enabled else None), c1 + c2
