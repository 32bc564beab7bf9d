"""Task definitions and their items, read from local files (nothing is downloaded).

A task file holds one item per line. Multiple choice: a prompt, a list of choices and the index of
the right one. Generative: a prompt and the expected answer. Field names are configurable so a
public benchmark file in its released schema plugs in with a spec, not with code.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from compass.data.synth.tasks.templates import T as SYNTH_TEMPLATES
from compass.eval.formats import Skip
from compass.eval.records import TaskFileError, read_records
from compass.eval.release_formats import convert
from compass.eval.templates import is_jinja, render, render_choices, render_target

log = logging.getLogger(__name__)

__all__ = ["GenItem", "MCItem", "TaskFileError", "TaskSpec", "builtin_suite", "load_items"]


@dataclass
class TaskSpec:
    name: str
    path: str
    kind: Literal["mc", "gen"] = "mc"
    prompt_field: str = "prompt"
    choices_field: str = "choices"
    answer_field: str = "answer"
    lang_field: str = "lang"
    # How the prompt becomes the context; lm-eval's default shape: "{prompt}" + delimiter + choice.
    # Jinja over the record's fields (lm-eval's doc_to_text) also works: "{{context}}\nQ: ..."; then
    # prompt_field is not read. compass.eval.templates has the rules.
    template: str = "{prompt}"
    choices_template: str | list[str] = ""  # lm-eval's doc_to_choice; "" = choices_field
    target_template: str = ""  # lm-eval's doc_to_target; "" = answer_field
    target_delimiter: str = " "
    num_fewshot: int = 0
    fewshot_separator: str = "\n\n"
    # Few-shot examples come from this file (same schema, format and templates as ``path``; a
    # train or dev split) when set, else from the task's other items; sampled with this seed.
    fewshot_path: str = ""
    fewshot_seed: int = 1234
    # Generative tasks: stop sequences, new-token cap and how to pull the answer out of the output.
    stop: list[str] = field(default_factory=lambda: ["\n\n"])
    max_tokens: int = 64
    answer_regex: str | None = None  # first capture group is the answer; None = whole output
    # The chat forms (compass.eval.forms): new-token cap of a deep-mode reply, reasoning
    # included; the line after the lettered options in the letters form, one text or one per
    # item language ("" = none).
    deep_max_tokens: int = 256
    letters_instruction: str | dict[str, str] = ""
    filters: dict[str, Any] = field(default_factory=dict)  # item field -> required value
    items_per_lang: int = 0  # keep the first N items of each language; 0 = all
    # A public benchmark's release format (a key of compass.eval.release_formats.BENCHMARKS):
    # records are converted from the release's own fields; "" = the field mapping above.
    format: str = ""
    lang: str = ""  # language of items that do not name one


@dataclass
class MCItem:
    prompt: str
    choices: list[str]
    gold: int
    lang: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenItem:
    prompt: str
    answer: str
    lang: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _field(rec: dict, name: str, where: str) -> Any:
    if name not in rec:
        raise TaskFileError(
            f"{where}: field '{name}' is missing (fields present: {sorted(rec)}); set the task's "
            f"field mapping if the file uses another name"
        )
    return rec[name]


def _prompt(spec: TaskSpec, rec: dict, where: str) -> str:
    if is_jinja(spec.template):
        return render(spec.template, rec, where)
    prompt = str(_field(rec, spec.prompt_field, where))
    try:  # the short form is filled when the context is built: check it here, with its place
        spec.template.format(prompt=prompt)
    except (KeyError, IndexError, ValueError) as e:
        raise TaskFileError(
            f"{where}: the task's template {spec.template!r} refers to {e}, "
            "but the short form fills "
            "only {prompt}; write Jinja over the record's fields instead, e.g. {{question}}"
        ) from None
    return prompt


def _answer(spec: TaskSpec, rec: dict, where: str) -> Any:
    if spec.target_template:
        return render_target(spec.target_template, rec, where)
    return _field(rec, spec.answer_field, where)


def _gold(value: Any, choices: list[str]) -> Any:
    """An answer key as an index: an int, a digit string, a choice's text or a letter."""
    if isinstance(value, str):
        key = value.strip()
        if key.isdigit():
            return int(key)
        if key in choices:
            return choices.index(key)
        if len(key) == 1 and key.isalpha():
            return ord(key.upper()) - ord("A")  # answer keys written as letters
    return value


def _mc_item(spec: TaskSpec, rec: dict, where: str) -> MCItem:
    prompt = _prompt(spec, rec, where)  # lm-eval's order: text, choices, target
    if spec.choices_template:
        choices = render_choices(spec.choices_template, rec, where)
    else:
        choices = _field(rec, spec.choices_field, where)
    what = "target_template" if spec.target_template else f"field '{spec.answer_field}'"
    if not isinstance(choices, list) or not choices:
        raise TaskFileError(
            f"{where}: field '{spec.choices_field}' must be a non-empty list, got {choices!r}"
        )
    choices = [str(c) for c in choices]
    gold = _gold(_answer(spec, rec, where), choices)
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(choices):
        raise TaskFileError(
            f"{where}: {what}={gold!r} is not an index into the {len(choices)} choices"
        )
    return MCItem(prompt, choices, gold, str(rec.get(spec.lang_field, "")), rec)


def _records(spec: TaskSpec):
    """(where, record) pairs in this task's field names, release formats converted."""
    if not spec.format:
        yield from read_records(spec.path)
        return
    skipped: Counter[str] = Counter()
    for where, rec in read_records(spec.path):
        try:
            converted = convert(spec.format, rec, where, spec.lang)
        except Skip as e:
            skipped[str(e)] += 1
            continue
        for r in converted:
            yield where, r
    for reason, n in skipped.items():
        log.warning("task '%s': skipped %d record(s) of %s: %s", spec.name, n, spec.path, reason)


def load_items(spec: TaskSpec) -> list[MCItem | GenItem]:
    path = Path(spec.path)
    if not path.exists():
        raise TaskFileError(f"task '{spec.name}': file {path} does not exist")
    items: list[MCItem | GenItem] = []
    for where, rec in _records(spec):
        if any(rec.get(k) != v for k, v in spec.filters.items()):
            continue
        if spec.lang and not rec.get(spec.lang_field):
            rec = {**rec, spec.lang_field: spec.lang}
        if spec.kind == "mc":
            items.append(_mc_item(spec, rec, where))
        else:
            items.append(
                GenItem(
                    _prompt(spec, rec, where),
                    str(_answer(spec, rec, where)),
                    str(rec.get(spec.lang_field, "")),
                    rec,
                )
            )
    if not items:
        raise TaskFileError(
            f"task '{spec.name}': {path} holds no items (after filters {spec.filters})"
        )
    if spec.items_per_lang > 0:
        per_lang: Counter[str] = Counter()
        kept = []
        for it in items:
            per_lang[it.lang] += 1
            if per_lang[it.lang] <= spec.items_per_lang:
                kept.append(it)
        items = kept
    return items


def builtin_suite(eval_dir: str | Path) -> list[TaskSpec]:
    """One task per e-commerce category from ``compass data generate``'s ``eval/*.jsonl``."""
    eval_dir = Path(eval_dir)
    files = sorted(eval_dir.glob("*.jsonl"))
    if not files:
        raise TaskFileError(
            f"{eval_dir}: no *.jsonl task files — run `compass data generate` first"
        )
    specs = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            first = json.loads(fh.readline())
        kind = "mc" if first.get("type", "mc") == "mc" else "gen"
        spec = TaskSpec(name=f.stem, path=str(f), kind=kind, stop=["\n"], max_tokens=24)
        spec.letters_instruction = _letters_instruction()
        specs.append(spec)
    return specs


def _letters_instruction() -> dict[str, str]:
    """The generator's own wording of "choose the option by its letter", per language."""
    return {lang: words["mc"] for lang, words in SYNTH_TEMPLATES.items()}


def load_fewshot(spec: TaskSpec) -> list[MCItem | GenItem] | None:
    """The examples of ``fewshot_path`` (read like the task file); None = the task's own items."""
    if not spec.fewshot_path or spec.num_fewshot <= 0:
        return None
    return load_items(
        replace(spec, name=f"{spec.name} (few-shot)", path=spec.fewshot_path, items_per_lang=0)
    )
