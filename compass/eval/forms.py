"""The forms a task is scored in: how an item is put to the model and what is scored.

``raw``      the prompt as plain text; each choice's text scored as its continuation (a base
             model's form, and lm-eval's default).
``chat``     the prompt as a user turn in the model's chat template, fast mode (the empty think
             block); each choice scored as the assistant's reply (lm-eval's
             ``--apply_chat_template``). Generative tasks: a fast-mode reply.
``letters``  ``chat`` with the choices listed as "A. ...", "B. ..." in the user turn and the letters
             scored (MMLU's form). Generative tasks have no options: their ``chat`` reply.
``deep``     generative tasks only: the reply in deep mode (``enable_thinking``), the answer read
             after the think block. Option tasks are answered in fast mode and are skipped here.

docs/eval-forms.md says what each measures and why a chat model is scored in the chat forms.
"""

from __future__ import annotations

import string

from compass.eval.answers import extract
from compass.eval.backend import Unsupported

FORMS = ("raw", "chat", "letters", "deep")
LETTERS = string.ascii_uppercase


def parse_forms(value: str | list[str]) -> list[str]:
    """``"raw,chat"`` or a list, in the given order; an unknown form names the known ones."""
    names = value.split(",") if isinstance(value, str) else list(value)
    forms = [n.strip() for n in names if n.strip()]
    bad = [f for f in forms if f not in FORMS]
    if bad or not forms:
        raise ValueError(f"unknown form(s) {bad or value!r}; choose from {', '.join(FORMS)}")
    return list(dict.fromkeys(forms))


def column(label: str, form: str, forms: list[str]) -> str:
    """A results column: the model's label, with its form when more than raw is scored."""
    return label if forms == ["raw"] else f"{label} [{form}]"


def user_turn(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def lettered(prompt: str, choices: list[str], instruction: str) -> str:
    """The prompt, its options as "A. ..." lines and the task's answer instruction, if any."""
    if len(choices) > len(LETTERS):
        raise Unsupported(f"{len(choices)} choices: the letters form names at most 26")
    lines = [prompt, *(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))]
    return "\n".join([*lines, instruction] if instruction else lines)


def instruction_for(instruction: str | dict[str, str], lang: str) -> str:
    """A task's letters instruction: one text, or one per item language ("" where none)."""
    if isinstance(instruction, dict):
        return instruction.get(lang, "")
    return instruction


def chat_answer(content: str, regex: str | None) -> str:
    """The answer a chat reply commits to: the task's regex, else the final answer after an
    answer marker or the last amount or number (the rule post-training's answer checks use),
    else the whole reply."""
    if regex is not None:
        return extract(content, regex)
    from compass.posttrain.answers import final_answer

    return final_answer(content) or content.strip()
