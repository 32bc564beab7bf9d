"""Run a list of steps into one run directory, skipping those whose inputs did not change.

A step's fingerprint hashes three parts: its config (its name, the seed and the config sections
it reads), its inputs (the fingerprints of the steps it depends on) and its code (the source it
can reach, see ``pipeline/code.py``). A step whose manifest records the same fingerprint and
``complete`` is skipped, so an interrupted run resumes at the first unfinished step, and a change
to a stage's config or code reruns exactly that stage and the steps downstream of it. The parts
are kept in the manifest so ``--plan`` can say which of them changed. An unfinished step keeps
its partial work (a training checkpoint) while its config and inputs are the same, code edits
included.
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
from typing import Any, NamedTuple

from compass.config import ConfigError
from compass.pipeline.code import code_hash
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


class Planned(NamedTuple):
    step: Step
    fingerprint: str
    will_run: bool
    why: str  # why it runs ("never ran", "code changed", ...), or "up to date"
    parts: dict[str, Any]  # what the fingerprint hashes, kept in the manifest


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint_parts(step: Step, recipe: Recipe, upstream: dict[str, str]) -> dict[str, Any]:
    conf = recipe.to_dict()
    config = {
        "step": step.name,
        "seed": recipe.seed,
        "sections": {s: conf.get(s) for s in step.sections},
        "extra": step.extra,
    }
    return {
        "config": _digest(config),
        "inputs": {d: upstream[d] for d in step.deps},
        "code": code_hash(step.fn),
    }


def _why(out: Path, parts: dict[str, Any], fp: str) -> str:
    """Why a step must run given what its directory holds, or "" if it is up to date."""
    m = read_manifest(out)
    if not (m and m.get("complete")):
        return "unfinished" if (out / ".fingerprint").exists() else "never ran"
    if m.get("fingerprint") == fp:
        return ""
    old = m.get("fingerprint_parts")
    if not old:
        return "fingerprint changed"  # a manifest that predates the parts
    why = []
    if old.get("config") != parts["config"]:
        why.append("config changed")
    if old.get("inputs") != parts["inputs"]:
        was = old.get("inputs") or {}
        deps = [d for d, f in parts["inputs"].items() if was.get(d) != f]
        why.append(f"input changed ({', '.join(deps)})" if deps else "input changed")
    if old.get("code") != parts["code"]:
        why.append("code changed")
    return ", ".join(why) or "fingerprint changed"


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
) -> list[Planned]:
    """Every step, in order, with whether it will run and why."""
    names = [s.name for s in steps]
    if start_from is not None and start_from not in names:
        raise ConfigError(f"--from {start_from}: no such stage (stages: {', '.join(names)})")
    fps: dict[str, str] = {}
    result: list[Planned] = []
    # A step downstream of one that reruns must rerun too: its fingerprint already changed,
    # unless the upstream step reruns by --from/--force, so propagate explicitly.
    rerun: set[str] = set()
    forced = "--force" if force else ""
    for step in steps:
        if step.name == start_from:
            forced = f"--from {start_from}"
        parts = fingerprint_parts(step, recipe, fps)
        fp = fps[step.name] = _digest(parts)
        upstream = [d for d in step.deps if d in rerun]
        why = (
            forced
            or _why(run_dir / step.name, parts, fp)
            or (f"{', '.join(upstream)} reruns" if upstream else "")
        )
        if why:
            rerun.add(step.name)
        result.append(Planned(step, fp, bool(why), why or "up to date", parts))
    return result


def _prepare_out(out: Path, key: str, fresh: bool) -> None:
    """Keep a partial artifact of the same config and inputs (the stage resumes from it, e.g. a
    training checkpoint); wipe one made from others, so nothing stale is mixed into the new run."""
    stamp = out / ".fingerprint"
    if out.exists() and (fresh or not stamp.exists() or stamp.read_text() != key):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)


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
    todo_s = sum(p.step.estimate_s for p in planned if p.will_run)
    results: dict[str, dict] = {}
    t_run = time.time()
    for i, (step, fp, will, why, parts) in enumerate(planned, 1):
        out = run_dir / step.name
        if not will:
            results[step.name] = read_manifest(out) or {}
            log.info("[%d/%d] %s: up to date, skipped", i, len(planned), step.name)
            continue
        elapsed = time.time() - t_run
        log.info(
            "[%d/%d] %s — %s (%s; elapsed %.0fs, planned %.0fs)",
            i,
            len(planned),
            step.name,
            step.describe,
            why,
            elapsed,
            todo_s,
        )
        if progress:
            progress(step.name)
        for dep in step.deps:
            m = read_manifest(run_dir / dep)
            if not (m and m.get("complete")):
                raise RunDirError(
                    f"stage '{step.name}' needs '{dep}', "
                    f"whose artifact {run_dir / dep} is missing or "
                    f"incomplete: rerun with --from {dep}"
                )
        # A stage run again after it completed starts empty. An unfinished one resumes from its
        # partial work (a training checkpoint) while its config and inputs are the same, even if
        # its code changed: the usual edit between a crash and the rerun is the fix.
        rerun = bool((read_manifest(out) or {}).get("complete"))
        resume_key = _digest({k: v for k, v in parts.items() if k != "code"})
        _prepare_out(out, resume_key, fresh=force or step.name == start_from or rerun)
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
        manifest.update(fingerprint=fp, fingerprint_parts=parts, complete=True)
        atomic_write_json(out / "manifest.json", manifest)
        results[step.name] = manifest
        log.info("[%d/%d] %s done in %.1fs", i, len(planned), step.name, wall)
    return results
