"""Checking chat samples (OpenAI ``messages``), with every reject named.

``compass.posttrain.formats`` reads the files and turns ShareGPT and Alpaca rows into messages.

A sample is kept, repaired, or rejected with a reason; nothing crashes the run:
- a message without a ``role`` (or an unknown one), a non-string ``content``: rejected;
- an assistant turn with no content, no reasoning and no tool call: rejected ("empty assistant");
- no assistant turn at all: rejected (nothing to learn);
- a tool call whose ``arguments`` string is not valid JSON: rejected ("invalid tool-call JSON");
- too long for the sequence length: handled by the tokeniser step (``dataset.tokenize``), which
  drops it and counts it (truncating a chat would cut off the answer the loss is for).
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("system", "user", "assistant", "tool")


def check_sample(sample: Any) -> str | None:
    """None when the sample is usable, else the reason it is not."""
    if not isinstance(sample, dict) or not isinstance(sample.get("messages"), list):
        return "no messages list"
    msgs = sample["messages"]
    if not msgs:
        return "empty messages"
    for m in msgs:
        if not isinstance(m, dict) or "role" not in m:
            return "message without role"
        if m["role"] not in ROLES:
            return f"unknown role {m['role']!r}"
        for key in ("content", "reasoning_content"):
            if m.get(key) is not None and not isinstance(m[key], str):
                return f"non-string {key}"
        if m["role"] == "assistant":
            calls = m.get("tool_calls") or []
            if (
                not (m.get("content") or "").strip()
                and not m.get("reasoning_content")
                and not calls
            ):
                return "empty assistant turn"
            for tc in calls:
                f = tc.get("function", tc) if isinstance(tc, dict) else None
                if not isinstance(f, dict) or not isinstance(f.get("name"), str):
                    return "tool call without a function name"
                args = f.get("arguments", {})
                if isinstance(args, str):
                    try:
                        json.loads(args)
                    except json.JSONDecodeError:
                        return "invalid tool-call JSON"
    if not any(m["role"] == "assistant" for m in msgs):
        return "no assistant turn"
    if sample.get("tools") is not None and not isinstance(sample["tools"], list):
        return "tools is not a list"
    return None
