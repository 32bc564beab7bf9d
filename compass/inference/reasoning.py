"""Separating the reasoning (inside ``<think>…</think>``) from the answer (report §5).

In think mode the model writes ``<think>`` reasoning ``</think>`` answer; a chat template may
already have opened the block in the prompt (then the output starts inside it). With the think
tokens known as single ids the split is done on ids, which survives a decoder that drops special
tokens; otherwise on the text. ``reasoning`` is None when the output has no think block.
"""

from __future__ import annotations

from compass.inference.detokenizer import IncrementalDetokenizer
from compass.inference.text import THINK_CLOSE, THINK_OPEN, think_ids


def prompt_opens_think(prompt_ids: list[int], open_id: int | None, close_id: int | None) -> bool:
    """True when the prompt ends inside a think block the template opened."""
    if open_id is None:
        return False
    for tok in reversed(prompt_ids):
        if tok == close_id:
            return False
        if tok == open_id:
            return True
    return False


def split_think_text(text: str, starts_inside: bool = False) -> tuple[str | None, str]:
    """(reasoning, content) from finished text; an unclosed block is all reasoning."""
    if starts_inside:
        text = THINK_OPEN + text
    stripped = text.lstrip()
    if not stripped.startswith(THINK_OPEN):
        return None, text
    body = stripped[len(THINK_OPEN) :]
    if THINK_CLOSE not in body:
        return body.strip(), ""
    reasoning, content = body.split(THINK_CLOSE, 1)
    return reasoning.strip(), content.lstrip()


class ThinkSplitter:
    """Streams generated ids into two channels and decodes each incrementally."""

    def __init__(self, tokenizer, prompt_ids: list[int], stop: list[str] | None = None):
        self.open_id, self.close_id = think_ids(tokenizer)
        self.by_ids = self.open_id is not None
        inside = prompt_opens_think(prompt_ids, self.open_id, self.close_id)
        self.state = "reasoning" if inside else "start"
        self.saw_think = self.state == "reasoning"
        self.reasoning = IncrementalDetokenizer(tokenizer)
        # The answer channel holds back a forming stop string, as the engine's own text does.
        self.content = IncrementalDetokenizer(tokenizer, stop)
        self._content_started = False

    def feed(self, new_ids: list[int]) -> tuple[str, str]:
        """(reasoning delta, content delta) for the newly generated ids."""
        r_ids: list[int] = []
        c_ids: list[int] = []
        for tok in new_ids:
            if tok == self.open_id and self.state == "start":
                self.state, self.saw_think = "reasoning", True
            elif tok == self.close_id and self.state == "reasoning":
                self.state = "content"
            elif self.state == "reasoning":
                r_ids.append(tok)
            else:
                c_ids.append(tok)
        r_delta = self.reasoning.add(r_ids)[0] if r_ids else ""
        c_delta = self.content.add(c_ids)[0] if c_ids else ""
        if self.saw_think and not self._content_started:
            # The template's blank lines after </think> are layout, not answer.
            c_delta = c_delta.lstrip()
            self._content_started = bool(c_delta)
        return r_delta, c_delta

    def flush(self) -> tuple[str, str]:
        """Whatever either channel still holds back (call once the request has finished)."""
        return self.reasoning.flush(), self.content.flush()

    def result(self) -> tuple[str | None, str]:
        """The final (reasoning, content); flushes both channels."""
        self.flush()
        if not self.by_ids:
            return split_think_text(self.content.text)
        reasoning = self.reasoning.text.strip() if self.saw_think else None
        content = self.content.text.lstrip() if self.saw_think else self.content.text
        return reasoning, content
