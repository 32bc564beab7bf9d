"""Several models, one table: each model in turn through every task, results written as they land.

A model that cannot be opened or fails mid-run is recorded with its one-line reason and the run
goes on; the report is rewritten after every task, so what was computed before a failure (or a
crash of the whole process) is on disk. Task files are checked before any model loads: a bad one
is named at once in one line (file, line, field) and reported as not scored, and the other tasks
run. Each model is scored in each requested form, one column per model and form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from compass.eval.backend import ModelLoadError, Unsupported
from compass.eval.forms import column
from compass.eval.harness import TaskResult, evaluate
from compass.eval.loading import ModelRef, open_backend
from compass.eval.openai_backend import EndpointError
from compass.eval.records import TaskFileError
from compass.eval.tasks import TaskSpec, load_fewshot, load_items

log = logging.getLogger(__name__)


@dataclass
class Comparison:
    results: dict[str, list[TaskResult]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # model label -> one-line reason
    paths: dict[str, Path] = field(default_factory=dict)


def check_tasks(specs: list[TaskSpec]) -> dict[str, str]:
    """Read every task (and few-shot) file once, before any model loads: each bad one is logged
    in one line (file, line, field) and returned by name with its reason; the rest still run.
    When no task is usable there is nothing to run: that is an error, at once."""
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TaskFileError(f"task name(s) {dupes} appear twice; give each task its own name")
    bad = {}
    for spec in specs:
        try:
            load_items(spec)
            load_fewshot(spec)
        except TaskFileError as e:
            bad[spec.name] = str(e)
            log.error("task '%s' not scored: %s", spec.name, e)
    if specs and len(bad) == len(specs):
        raise TaskFileError(
            "; ".join(bad.values()) if len(bad) == 1 else "no usable task: each is named above"
        )
    return bad


def _reason(e: Exception) -> str:
    # These errors are written for people (they name the model or file and the fix).
    if isinstance(e, ModelLoadError | EndpointError | Unsupported | FileNotFoundError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def run_models(
    refs: list[ModelRef],
    specs: list[TaskSpec],
    out_dir: str | Path,
    limit: int | None = None,
    batch_size: int = 16,
    concurrency: int = 4,
    forms: list[str] | None = None,
) -> Comparison:
    """Each model in each of ``forms`` (compass.eval.forms; default raw), one column apiece."""
    from compass.eval.report import write_results

    bad = check_tasks(specs)
    labels = [r.label for r in refs]
    if len(set(labels)) != len(labels):
        raise ModelLoadError(f"model labels {labels} repeat; name each one: --model LABEL=TARGET")
    comp = Comparison()
    run = Run(specs, bad, forms or ["raw"], out_dir, limit)
    for ref in refs:
        try:
            _run_one(ref, run, comp, batch_size, concurrency)
        except (KeyboardInterrupt, TaskFileError):
            raise
        except Exception as e:  # one model's failure must not cost the others' results
            comp.failures[ref.label] = _reason(e)
            log.error("model '%s' failed: %s", ref.label, comp.failures[ref.label])
            log.debug("model '%s' traceback", ref.label, exc_info=True)
        comp.paths = write_results(comp.results, out_dir, comp.failures)
    return comp


@dataclass
class Run:
    specs: list[TaskSpec]
    bad: dict[str, str]  # task name -> why its file cannot be scored
    forms: list[str]
    out_dir: str | Path
    limit: int | None


def _run_one(ref: ModelRef, run: Run, comp: Comparison, batch_size: int, concurrency: int) -> None:
    from compass.eval.report import write_results

    log.info("model '%s': %s", ref.label, ref.target)
    backend = open_backend(ref, batch_size, concurrency)
    for form in run.forms:
        label = column(ref.label, form, run.forms)
        done: list[TaskResult] = []
        for spec in run.specs:
            if spec.name in run.bad:
                done.append(TaskResult(spec.name, spec.kind, 0, {}, skipped=run.bad[spec.name]))
            else:
                done += evaluate([spec], backend, run.limit, form)
            comp.results[label] = done
            comp.paths = write_results(comp.results, run.out_dir, comp.failures)
