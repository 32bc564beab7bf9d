"""Run a list of steps into one run directory, skipping those whose inputs did not change.

A step's fingerprint hashes its own name, the config sections it reads and the fingerprints of
the steps it depends on. A step whose manifest records the same fingerprint and ``complete`` is
skipped, so an interrupted run resumes at the first unfinished step and a config change reruns
exactly the steps downstream of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compass.config import ConfigError
from compass.recipes import Recipe
from compass.utils.io import atomic_write_json
from compass.utils.manifest import read_manifest, write_manifest

log = logging.getLogger(__name__)


@dataclass
class StepContext:
    recipe: Recipe
    run_dir: Path
    out: Path  # this step's artifact directory
    deps: dict[str, Path]  # upstream step name -> its artifact directory


@dataclass
class Step:
    name: str
    fn: Callable[[StepContext], dict[str, Any]]  # returns metrics for the manifest and report
    sections: tuple[str, ...] = ()  # recipe sections this step reads
    deps: tuple[str, ...] = ()
    describe: str = ""
    estimate_s: float = 30.0  # rough wall time on the tiny recipe, for the ETA
    extra: dict[str, Any] = field(default_factory=dict)


class RunDirError(ConfigError):
    pass


def fingerprint(step: Step, recipe: Recipe, upstream: dict[str, str]) -> str:
    conf = recipe.to_dict()
    payload = {
        "step": step.name,
        "seed": recipe.seed,
        "sections": {s: conf.get(s) for s in step.sections},
        "extra": step.extra,
        "upstream": {d: upstream[d] for d in step.deps},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def check_run_dir(run_dir: Path, recipe: Recipe, force: bool) -> None:
    """Refuse to mix two different runs in one directory."""
    marker = run_dir / "run.json"
    if marker.exists() and not force:
        previous = json.loads(marker.read_text()).get("recipe")
        if previous != recipe.name:
            raise RunDirError(
                f"{run_dir} holds a run of recipe '{previous}', not '{recipe.name}': pass a new "
                "--out, or --force to start over in it"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(marker, {"recipe": recipe.name})


def plan(
    steps: list[Step],
    recipe: Recipe,
    run_dir: Path,
    start_from: str | None = None,
    force: bool = False,
) -> list[tuple[Step, str, bool]]:
    """(step, fingerprint, will_run) for every step, in order."""
    names = [s.name for s in steps]
    if start_from is not None and start_from not in names:
        raise ConfigError(f"--from {start_from}: no such stage (stages: {', '.join(names)})")
    fps: dict[str, str] = {}
    out, rerun = [], force
    for step in steps:
        if step.name == start_from:
            rerun = True
        fp = fingerprint(step, recipe, fps)
        fps[step.name] = fp
        m = read_manifest(run_dir / step.name)
        done = bool(m and m.get("complete") and m.get("fingerprint") == fp)
        out.append((step, fp, rerun or not done))
    # Anything downstream of a step that reruns must rerun too (its fingerprint already changed
    # unless the step is rerun by --from/--force, so propagate explicitly).
    dirty: set[str] = set()
    result = []
    for step, fp, will in out:
        will = will or any(d in dirty for d in step.deps)
        if will:
            dirty.add(step.name)
        result.append((step, fp, will))
    return result


def _prepare_out(out: Path, fp: str, fresh: bool) -> None:
    """Keep a partial artifact of the same inputs (the stage resumes from it, e.g. a training
    checkpoint); wipe one made from other inputs, so nothing stale is mixed into the new run."""
    stamp = out / ".fingerprint"
    if out.exists() and (fresh or not stamp.exists() or stamp.read_text() != fp):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fp)


def run_steps(
    steps: list[Step],
    recipe: Recipe,
    run_dir: Path,
    start_from: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    check_run_dir(run_dir, recipe, force)
    planned = plan(steps, recipe, run_dir, start_from, force)
    todo_s = sum(s.estimate_s for s, _, will in planned if will)
    results: dict[str, dict] = {}
    t_run = time.time()
    for i, (step, fp, will) in enumerate(planned, 1):
        out = run_dir / step.name
        if not will:
            results[step.name] = read_manifest(out) or {}
            log.info("[%d/%d] %s: up to date, skipped", i, len(planned), step.name)
            continue
        elapsed = time.time() - t_run
        log.info(
            "[%d/%d] %s — %s (elapsed %.0fs, planned %.0fs)",
            i,
            len(planned),
            step.name,
            step.describe,
            elapsed,
            todo_s,
        )
        if progress:
            progress(step.name)
        for dep in step.deps:
            m = read_manifest(run_dir / dep)
            if not (m and m.get("complete")):
                raise RunDirError(
                    f"stage '{step.name}' needs '{dep}', whose artifact {run_dir / dep} is missing or "
                    f"incomplete: rerun with --from {dep}"
                )
        _prepare_out(out, fp, fresh=force or step.name == start_from)
        t0 = time.time()
        ctx = StepContext(recipe, run_dir, out, {d: run_dir / d for d in step.deps})
        metrics = step.fn(ctx) or {}
        wall = time.time() - t0
        manifest = write_manifest(
            out,
            step.name,
            {s: recipe.to_dict().get(s) for s in step.sections},
            metrics=metrics,
            wall_time_s=round(wall, 2),
        )
        manifest.update(fingerprint=fp, complete=True)
        atomic_write_json(out / "manifest.json", manifest)
        results[step.name] = manifest
        log.info("[%d/%d] %s done in %.1fs", i, len(planned), step.name, wall)
    return results
