"""Prompt, choice and target templates over a record's fields, as lm-evaluation-harness writes them.

A task's ``template`` is either the short ``{prompt}`` form (the prompt field dropped into a fixed
frame) or Jinja over every field of the record (lm-eval's ``doc_to_text``):
``"{{context}}\\nQuestion: {{question}}\\nAnswer:"``. ``choices_template`` (``doc_to_choice``) and
``target_template`` (``doc_to_target``) are a field name or Jinja; a choices template renders to a
list literal (``"{{choices}}"``, ``"['no', 'yes']"``) or is a list of per-choice templates. The
Jinja environment matches lm-eval's (strict undefined, trailing newlines kept, ``regex_replace``)
so a template copied from an lm-eval task YAML renders the same text.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any

from compass.eval.records import TaskFileError


def is_jinja(template: str) -> bool:
    return "{{" in template or "{%" in template


@lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = lambda s, pattern, repl, count=0: re.sub(
        pattern, repl, s, count=count
    )
    return env


@lru_cache(maxsize=256)
def _compiled(template: str):
    import jinja2

    try:
        return _env().from_string(template)
    except jinja2.TemplateSyntaxError as e:
        raise TaskFileError(f"template {template!r} is not valid Jinja ({e.message})") from None


def render(template: str, rec: dict[str, Any], where: str, what: str = "template") -> str:
    """``template`` filled from ``rec``; a field the record lacks names the field and the fix."""
    import jinja2

    try:
        return _compiled(template).render(**rec)
    except jinja2.UndefinedError as e:
        m = re.search(r"'([^']+)' is undefined", str(e))
        name = f"field '{m.group(1)}'" if m else f"a field ({e.message})"
        raise TaskFileError(
            f"{where}: the task's {what} uses {name}, which this record lacks (fields present: "
            f"{sorted(rec)}); fix the {what} or the file"
        ) from None
    except TaskFileError as e:
        raise TaskFileError(f"{where}: {e}") from None
    except Exception as e:  # a filter or expression failing on this record's values
        raise TaskFileError(f"{where}: the task's {what} failed: {type(e).__name__}: {e}") from None


def field_or_render(spec: str, rec: dict[str, Any], where: str, what: str) -> Any:
    """lm-eval's rule: a bare field name takes the field's value as is; anything else renders."""
    if spec in rec:
        return rec[spec]
    if not is_jinja(spec) and spec.isidentifier():
        render("{{" + spec + "}}", rec, where, what)  # raises, naming the missing field
    return render(spec, rec, where, what)


def render_choices(spec: str | list[str], rec: dict[str, Any], where: str) -> list[str]:
    what = "choices_template"
    if isinstance(spec, list):
        return [render(t, rec, where, what) if is_jinja(t) else t for t in spec]
    value = field_or_render(spec, rec, where, what)
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise TaskFileError(
                f"{where}: the task's {what} {spec!r} rendered {value[:80]!r}, not a list; write "
                "it so it renders a list literal, e.g. \"{{choices}}\" or \"['no', 'yes']\""
            ) from None
    if not isinstance(value, list | tuple) or not value:
        raise TaskFileError(f"{where}: the task's {what} {spec!r} gave {value!r}, not a list")
    return [str(c) for c in value]


def render_target(spec: str, rec: dict[str, Any], where: str) -> Any:
    value = field_or_render(spec, rec, where, "target_template")
    return value.strip() if isinstance(value, str) else value
