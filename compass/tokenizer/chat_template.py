"""The hybrid-reasoning chat format (report §5), as a Jinja template and as a Python renderer.

The format follows Qwen3's, the convention vLLM and transformers callers already use:

    <|im_start|>system\n{system}<|im_end|>\n
    <|im_start|>user\n{question}<|im_end|>\n
    <|im_start|>assistant\n<think>\n{reasoning}\n</think>\n\n{answer}<|im_end|>\n

Every assistant turn carries a think block. Deep mode (``enable_thinking=True``) renders the
turn's ``reasoning_content`` inside it, and the generation prompt stops after ``<think>\n`` so the
model writes its reasoning, ``</think>`` and then the answer. Fast mode (the default, as in
``enable_thinking=False``) renders the block empty — ``<think>\n\n</think>\n\n`` — and the
generation prompt includes it, so the model answers at once. Tool results are ``tool`` turns
wrapped in ``<tool_response>``; tool calls are JSON objects in ``<tool_call>`` after the answer.

The Python renderer cuts its parts only at special tokens, so encoding the parts one by one gives
the same ids as encoding the whole rendered text, which is what ``apply_chat_template`` does.
"""

from __future__ import annotations

import json
from typing import Any

from compass.config import ConfigError

TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_POSTAMBLE = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
    '"arguments": <args-json-object>}\n</tool_call>'
)

CHAT_TEMPLATE = (
    "{%- set think = enable_thinking is defined and enable_thinking -%}\n"
    "{%- set ns = namespace(start=0) -%}\n"
    "{%- if tools -%}\n"
    "{{- '<|im_start|>system\\n' -}}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}\n"
    "{{- messages[0]['content'] + '\\n\\n' -}}\n"
    "{%- set ns.start = 1 -%}\n"
    "{%- endif -%}\n"
    "{{- " + json.dumps(TOOLS_PREAMBLE) + " -}}\n"
    "{%- for tool in tools -%}{{- '\\n' + (tool | tojson) -}}{%- endfor -%}\n"
    "{{- " + json.dumps(TOOLS_POSTAMBLE) + " + '<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- for message in messages[ns.start:] -%}\n"
    "{%- if message['role'] == 'assistant' -%}\n"
    "{%- set content = message['content'] if message['content'] else '' -%}\n"
    "{{- '<|im_start|>assistant\\n<think>\\n' -}}\n"
    "{%- if think and message['reasoning_content'] -%}\n"
    "{{- message['reasoning_content'] + '\\n' -}}\n"
    "{%- else -%}{{- '\\n' -}}{%- endif -%}\n"
    "{{- '</think>\\n\\n' + content -}}\n"
    "{%- for tc in (message['tool_calls'] or []) -%}\n"
    "{%- set f = tc['function'] if tc['function'] else tc -%}\n"
    "{%- if content or not loop.first -%}{{- '\\n' -}}{%- endif -%}\n"
    "{%- set args = f['arguments'] if f['arguments'] is string else (f['arguments'] | tojson) -%}\n"
    "{{- '<tool_call>\\n{\"name\": ' + (f['name'] | tojson) + ', \"arguments\": ' + args "
    "+ '}\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- elif message['role'] == 'tool' -%}\n"
    "{{- '<|im_start|>tool\\n<tool_response>\\n' + message['content'] "
    "+ '\\n</tool_response><|im_end|>\\n' -}}\n"
    "{%- elif message['role'] in ('system', 'user') -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
    "{%- else -%}{{- raise_exception('unknown chat role: ' + message['role']) -}}{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "{{- '<|im_start|>assistant\\n<think>\\n' -}}\n"
    "{%- if not think -%}{{- '\\n</think>\\n\\n' -}}{%- endif -%}\n"
    "{%- endif -%}\n"
)


def _tool_call_text(tc: dict[str, Any]) -> str:
    f = tc.get("function") or tc
    args = f.get("arguments")
    args = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    name = json.dumps(f.get("name"), ensure_ascii=False)
    return f'<tool_call>\n{{"name": {name}, "arguments": {args}}}\n</tool_call>'


def _text(message: dict[str, Any], key: str, index: int) -> str:
    value = message.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(
            f"chat message {index}: '{key}' must be a string, got {type(value).__name__}; "
            "join multi-part content into one string first"
        )
    return value


def _assistant_body(message: dict[str, Any], think: bool, index: int) -> str:
    content = _text(message, "content", index)
    reasoning = _text(message, "reasoning_content", index)
    body = "<think>\n" + (reasoning + "\n" if think and reasoning else "\n") + "</think>\n\n"
    body += content
    for k, tc in enumerate(message.get("tool_calls") or []):
        body += ("\n" if content or k else "") + _tool_call_text(tc)
    return body + "<|im_end|>"


def render_parts(
    messages: list[dict[str, Any]],
    enable_thinking: bool = False,
    add_generation_prompt: bool = False,
    tools: list[dict[str, Any]] | None = None,
) -> list[tuple[str, bool]]:
    """``(text, trained)`` parts whose concatenation is exactly what ``CHAT_TEMPLATE`` renders.

    ``trained`` marks what the model writes: each assistant turn after its
    ``<|im_start|>assistant\\n`` header, up to and including ``<|im_end|>``.
    """
    parts: list[tuple[str, bool]] = []
    start = 0
    if tools:
        head = "<|im_start|>system\n"
        if messages and messages[0].get("role") == "system":
            head += _text(messages[0], "content", 0) + "\n\n"
            start = 1
        head += TOOLS_PREAMBLE
        head += "".join("\n" + json.dumps(t, ensure_ascii=False) for t in tools)
        parts.append((head + TOOLS_POSTAMBLE + "<|im_end|>\n", False))
    for i, m in enumerate(messages[start:], start):
        role = m.get("role")
        if role == "assistant":
            parts.append(("<|im_start|>assistant\n", False))
            parts.append((_assistant_body(m, enable_thinking, i), True))
            parts.append(("\n", False))
        elif role == "tool":
            text = _text(m, "content", i)
            parts.append(
                (f"<|im_start|>tool\n<tool_response>\n{text}\n</tool_response><|im_end|>\n", False)
            )
        elif role in ("system", "user"):
            parts.append((f"<|im_start|>{role}\n{_text(m, 'content', i)}<|im_end|>\n", False))
        else:
            raise ConfigError(
                f"chat message {i}: unknown role {role!r}; use system, user, assistant or tool"
            )
    if add_generation_prompt:
        prompt = "<|im_start|>assistant\n<think>\n" + ("" if enable_thinking else "\n</think>\n\n")
        parts.append((prompt, False))
    return parts


def render_text(messages: list[dict[str, Any]], **kwargs: Any) -> str:
    return "".join(text for text, _ in render_parts(messages, **kwargs))
