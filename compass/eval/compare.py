"""Several models, one table: each model in turn through every task, results written as they land.

A model that cannot be opened or fails mid-run is recorded with its one-line reason and the run
goes on; the report is rewritten after every task, so what was computed before a failure (or a
crash of the whole process) is on disk. Task files are checked before any model loads, so a bad
template stops the run at once instead of after the first model's minutes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from compass.eval.backend import ModelLoadError, Unsupported
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


def check_tasks(specs: list[TaskSpec]) -> None:
    """Read every task (and few-shot) file once: a bad file or template fails before any model."""
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TaskFileError(f"task name(s) {dupes} appear twice; give each task its own name")
    for spec in specs:
        load_items(spec)
        load_fewshot(spec)


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
) -> Comparison:
    from compass.eval.report import write_results

    check_tasks(specs)
    labels = [r.label for r in refs]
    if len(set(labels)) != len(labels):
        raise ModelLoadError(f"model labels {labels} repeat; name each one: --model LABEL=TARGET")
    comp = Comparison()
    for ref in refs:
        try:
            _run_one(ref, specs, comp, out_dir, limit, batch_size, concurrency)
        except (KeyboardInterrupt, TaskFileError):
            raise
        except Exception as e:  # one model's failure must not cost the others' results
            comp.failures[ref.label] = _reason(e)
            log.error("model '%s' failed: %s", ref.label, comp.failures[ref.label])
            log.debug("model '%s' traceback", ref.label, exc_info=True)
        comp.paths = write_results(comp.results, out_dir, comp.failures)
    return comp


def _run_one(ref, specs, comp, out_dir, limit, batch_size, concurrency) -> None:
    from compass.eval.report import write_results

    log.info("model '%s': %s", ref.label, ref.target)
    backend = open_backend(ref, batch_size, concurrency)
    done: list[TaskResult] = []
    for spec in specs:
        done += evaluate([spec], backend, limit)
        comp.results[ref.label] = done
        comp.paths = write_results(comp.results, out_dir, comp.failures)
