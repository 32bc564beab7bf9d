"""The ecosystem's post-training row formats, each normalised to the one shape a stage uses.

- Chat samples (SFT, the verifier warm-up): OpenAI/TRL ``messages`` (roles system, user,
  assistant, tool; ``reasoning_content``, ``tool_calls``, ``tools``), ShareGPT ``conversations``
  (``from``: human/gpt/system/tool, ``value``) and Alpaca ``instruction``/``input``/``output``
  → ``{"messages", "tools"?, "lang", "category", ...}``.
- Preference pairs (reward model): TRL's explicit-prompt form — ``prompt`` (string or messages),
  ``chosen``/``rejected`` (string or assistant messages) — and its implicit-prompt form
  (``chosen``/``rejected`` whole conversations sharing everything but the last assistant turn)
  → ``{"prompt", "chosen", "rejected", "chosen_reasoning"?, "rejected_reasoning"?, "lang",
  "kind"}``. An assistant message's ``reasoning_content`` is its think block.
- Prompts (online DPO, Best-of-N): ``prompt`` (string or messages), optional ``answer`` (checked
  by rule), ``lang``, ``enable_thinking``, ``reference`` (a full right reply) and ``solution``
  (its reasoning) → the same keys, ``category`` defaulting to ``math`` for a prompt with an
  answer and ``general`` otherwise.

Each normaliser returns ``(row, "")`` or ``(None, reason)``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from compass.posttrain.inputs import read_rows
from compass.posttrain.sft.records import check_sample

SFT_FIELDS = ("messages", "conversations", "instruction", "output")
PAIR_FIELDS = ("prompt", "chosen", "rejected")
PROMPT_FIELDS = ("prompt", "answer", "lang", "enable_thinking")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "tool": "tool",
    "function_call": "assistant",
    "observation": "tool",
}
Result = tuple[dict[str, Any] | None, str]


def _meta(row: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """The optional metadata every format may carry (``lang``, ``category``; ``kind`` as its
    alias), with ``defaults`` where absent."""
    out = dict(defaults)
    if row.get("kind"):
        out["category"] = row["kind"]
    for key in ("lang", "category", "id", "task", "stage", "long_cot"):
        if row.get(key) not in (None, ""):
            out[key] = row[key]
    return out


def _sharegpt(conv: Any) -> list[dict[str, Any]] | str:
    if not isinstance(conv, list):
        return "'conversations' is not a list"
    msgs = []
    for turn in conv:
        if not isinstance(turn, dict) or turn.get("from") not in SHAREGPT_ROLES:
            return "ShareGPT turn without a known 'from' (human, gpt, system, tool)"
        msgs.append({"role": SHAREGPT_ROLES[turn["from"]], "content": turn.get("value")})
    return msgs


def _alpaca(row: dict[str, Any]) -> list[dict[str, Any]] | str:
    instruction, output = row.get("instruction"), row.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str):
        return "Alpaca row needs string 'instruction' and 'output'"
    extra = row.get("input")
    user = instruction if not extra else f"{instruction}\n\n{extra}"
    msgs = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    return [*msgs, {"role": "user", "content": user}, {"role": "assistant", "content": output}]


def sft_sample(row: Any) -> Result:
    """A chat sample in any of the three formats; stage 1 and fast mode unless it says otherwise
    (``long_cot`` follows ``reasoning_content``)."""
    if not isinstance(row, dict):
        return None, "not a JSON object"
    if "messages" in row:
        msgs: Any = row["messages"]
    elif "conversations" in row:
        msgs = _sharegpt(row["conversations"])
    elif "instruction" in row or "output" in row:
        msgs = _alpaca(row)
    else:
        return None, "none of messages / conversations / instruction+output"
    if isinstance(msgs, str):
        return None, msgs
    sample = {"messages": msgs, **({"tools": row["tools"]} if row.get("tools") else {})}
    reason = check_sample(sample)
    if reason:
        return None, reason
    deep = any(m.get("reasoning_content") for m in msgs if isinstance(m, dict))
    return sample | _meta(row, lang="", category="external", stage=1, long_cot=deep), ""


def _reply(side: Any, name: str) -> tuple[str, str | None] | str:
    """(text, reasoning) of a completion: a string or a list holding one assistant message."""
    if isinstance(side, str):
        return side, None
    if isinstance(side, dict):
        side = [side]
    if not isinstance(side, list) or not side:
        return f"'{name}' is neither a string nor assistant messages"
    if len(side) != 1 or not isinstance(side[0], dict) or side[0].get("role") != "assistant":
        return f"'{name}' must be one assistant message (multi-turn completions are not supported)"
    content, reasoning = side[0].get("content"), side[0].get("reasoning_content")
    if not isinstance(content, str) or (reasoning is not None and not isinstance(reasoning, str)):
        return f"'{name}' content is not a string"
    return content, reasoning or None


def _split_implicit(chosen: Any, rejected: Any) -> tuple[list, Any, Any] | str:
    """(shared prompt messages, chosen tail, rejected tail) of an implicit-prompt pair."""
    if not (isinstance(chosen, list) and isinstance(rejected, list)) or len(chosen) < 2:
        return "no 'prompt', and 'chosen'/'rejected' are not conversations"
    if chosen[:-1] != rejected[:-1]:
        return "implicit-prompt pair: chosen and rejected differ before their last turn"
    return chosen[:-1], chosen[-1:], rejected[-1:]


def _check_prompt(prompt: Any) -> str:
    if isinstance(prompt, str):
        return "" if prompt.strip() else "empty prompt"
    if not isinstance(prompt, list) or not prompt:
        return "'prompt' is neither a string nor a messages list"
    for m in prompt:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
            return "prompt messages need a 'role' each (system, user, assistant, tool)"
        if not isinstance(m.get("content"), str):
            return "prompt message content is not a string"
    return ""


def preference_pair(row: Any) -> Result:
    """A pair in either TRL form; chosen equal to rejected is unusable."""
    if not isinstance(row, dict):
        return None, "not a JSON object"
    if "chosen" not in row or "rejected" not in row:
        return None, "missing 'chosen' or 'rejected'"
    chosen, rejected = row["chosen"], row["rejected"]
    prompt = row.get("prompt")
    if prompt is None:
        split = _split_implicit(chosen, rejected)
        if isinstance(split, str):
            return None, split
        prompt, chosen, rejected = split
    reason = _check_prompt(prompt)
    if reason:
        return None, reason
    c = _reply(chosen, "chosen")
    if isinstance(c, str):
        return None, c
    r = _reply(rejected, "rejected")
    if isinstance(r, str):
        return None, r
    if not c[0].strip() or not r[0].strip():
        return None, "empty response"
    if (c[0].strip(), c[1]) == (r[0].strip(), r[1]):
        return None, "chosen equals rejected"
    pair = {"prompt": prompt, "chosen": c[0], "rejected": r[0]}
    pair |= {f"{k}_reasoning": x[1] for k, x in (("chosen", c), ("rejected", r)) if x[1]}
    meta = _meta(row, lang="", category="file")
    return pair | {"lang": meta["lang"], "kind": meta["category"]}, ""


def prompt_row(row: Any) -> Result:
    """A prompt with its optional reference answer; a non-empty ``answer`` makes it verifiable."""
    if not isinstance(row, dict):
        return None, "not a JSON object"
    if "prompt" not in row:
        return None, "missing 'prompt'"
    reason = _check_prompt(row["prompt"])
    if reason:
        return None, reason
    answer = row.get("answer")
    if answer is not None and not isinstance(answer, str | int | float):
        return None, "'answer' is not a string or number"
    out = {"prompt": row["prompt"]}
    if answer is not None and str(answer).strip():
        out["answer"] = str(answer).strip()
    for key in ("answer_minor", "currency", "reference", "solution", "enable_thinking"):
        if row.get(key) is not None:
            out[key] = row[key]
    meta = _meta(row, lang="", category="math" if "answer" in out else "general")
    return out | {"lang": meta["lang"], "category": meta["category"]}, ""


def prompt_key(prompt: str | list[dict[str, Any]]) -> str:
    """A hashable identity of a prompt in either form (for disjoint splits)."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False)


def prompt_messages(prompt: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


def prompt_text(prompt: str | list[dict[str, Any]]) -> str:
    """The last user turn's text (what a language check or a report shows)."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content") or "" for m in prompt if m.get("role") == "user"]
    return users[-1] if users else ""


def read_samples(paths: list, rejects: Counter | None = None) -> tuple[list[dict], Counter]:
    """Chat samples from files (any of the three formats); see
    :func:`compass.posttrain.inputs.read_rows`."""
    return read_rows(paths, sft_sample, "chat samples", SFT_FIELDS, rejects)


def read_pairs(paths: list, rejects: Counter | None = None) -> tuple[list[dict], Counter]:
    return read_rows(paths, preference_pair, "preference pairs", PAIR_FIELDS, rejects)


def read_prompts(paths: list, rejects: Counter | None = None) -> tuple[list[dict], Counter]:
    return read_rows(paths, prompt_row, "prompts", PROMPT_FIELDS, rejects)
