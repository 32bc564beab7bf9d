"""A suite file: the models and tasks of a whole comparison, so it reruns as one command.

``compass eval --suite suite.yaml`` (YAML or JSON)::

    out: runs/eval_peers          # optional; also limit, items_per_lang, max_tokens, batch_size,
                                  # concurrency, form
    models:
      - compass-v2=runs/sft/final # the --model forms: [LABEL=]CKPT | hf:DIR | openai:URL[#MODEL]
      - {label: sailor2-vllm, model: "openai:http://127.0.0.1:8000#sail/Sailor2-20B",
         tokenizer: /models/Sailor2-20B, api_key_env: VLLM_API_KEY}
    tasks:
      - builtin: runs/data/eval                 # the generated held-out suite
      - benchmark: "xcopa:id=/data/xcopa/test.id.jsonl"
      - task: specs/my_task.json                # a spec file
      - {name: boolq, path: /data/boolq/dev.jsonl, template: "...", doc_to_choice: "..."}

Paths are read as on the command line (relative to the working directory). A task mapping takes
the :class:`TaskSpec` fields, and lm-eval's names ``doc_to_text`` / ``doc_to_choice`` /
``doc_to_target`` for ``template`` / ``choices_template`` / ``target_template``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from compass.eval.benchmarks import parse_benchmark_arg
from compass.eval.loading import ModelRef, parse_model
from compass.eval.records import TaskFileError
from compass.eval.tasks import TaskSpec, builtin_suite

LM_EVAL_NAMES = {
    "doc_to_text": "template",
    "doc_to_choice": "choices_template",
    "doc_to_target": "target_template",
}
SETTINGS = ("out", "limit", "items_per_lang", "max_tokens", "batch_size", "concurrency", "form")


@dataclass
class Suite:
    models: list[ModelRef] = field(default_factory=list)
    specs: list[TaskSpec] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def spec_from_dict(d: dict[str, Any], where: str) -> TaskSpec:
    """A task spec from a mapping (a spec file or a suite entry); unknown keys are errors."""
    d = {LM_EVAL_NAMES.get(k, k): v for k, v in d.items()}
    known = {f.name for f in fields(TaskSpec)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise TaskFileError(
            f"{where}: unknown task field(s) {unknown}; a task takes {sorted(known)} "
            f"(and lm-eval's {sorted(LM_EVAL_NAMES)}); see docs/eval-tasks.md"
        )
    missing = [k for k in ("name", "path") if k not in d]
    if missing:
        raise TaskFileError(f"{where}: task field(s) {missing} missing")
    return TaskSpec(**d)


def read_spec_file(path: str | Path) -> TaskSpec:
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise TaskFileError(
            f"{path}: not a readable task spec ({e}); see docs/eval-tasks.md"
        ) from None
    if not isinstance(d, dict):
        raise TaskFileError(f"{path}: a task spec is a JSON object; see docs/eval-tasks.md")
    return spec_from_dict(d, str(path))


def _tasks(entry: Any, where: str) -> list[TaskSpec]:
    if isinstance(entry, dict) and len(entry) == 1:
        ((key, value),) = entry.items()
        if key == "builtin":
            return builtin_suite(value)
        if key == "benchmark":
            return [parse_benchmark_arg(str(value))]
        if key == "task":
            return [read_spec_file(value)]
    if isinstance(entry, dict):
        return [spec_from_dict(entry, where)]
    raise TaskFileError(
        f"{where}: a task is {{builtin: DIR}}, {{benchmark: NAME=PATH}}, {{task: SPEC.json}} or "
        f"a task mapping, got {entry!r}"
    )


def _model(entry: Any, where: str) -> ModelRef:
    if isinstance(entry, str):
        return parse_model(entry)
    if isinstance(entry, dict) and "model" in entry:
        extra = sorted(set(entry) - {"model", "label", "tokenizer", "api_key_env"})
        if extra:
            raise TaskFileError(f"{where}: unknown model field(s) {extra}")
        ref = parse_model(str(entry["model"]), entry.get("tokenizer"))
        ref.label = str(entry.get("label") or ref.label)
        ref.api_key_env = str(entry.get("api_key_env") or ref.api_key_env)
        return ref
    raise TaskFileError(f"{where}: a model is '[LABEL=]TARGET' or {{model: TARGET, label: ...}}")


def load_suite(path: str | Path) -> Suite:
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise TaskFileError(f"{path}: not a readable suite file ({e})") from None
    if not isinstance(doc, dict):
        raise TaskFileError(f"{path}: a suite is a mapping with 'models' and 'tasks'")
    unknown = sorted(set(doc) - {"models", "tasks", *SETTINGS})
    if unknown:
        raise TaskFileError(
            f"{path}: unknown key(s) {unknown}; a suite takes models, tasks, {', '.join(SETTINGS)}"
        )
    suite = Suite(settings={k: doc[k] for k in SETTINGS if doc.get(k) is not None})
    for i, entry in enumerate(doc.get("models") or []):
        suite.models.append(_model(entry, f"{path}: models[{i}]"))
    for i, entry in enumerate(doc.get("tasks") or []):
        suite.specs += _tasks(entry, f"{path}: tasks[{i}]")
    return suite
