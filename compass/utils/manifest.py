"""Artifact manifests: what a stage was given, how it was configured, what it measured.

Every stage writes ``manifest.json`` into its artifact directory. ``compass run`` compares the
recorded input hashes and config with the current ones to decide whether a stage can be skipped.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import compass
from compass.utils.io import atomic_write_json

MANIFEST = "manifest.json"


def hash_path(path: str | Path) -> str:
    """Content hash of a file, or of every file under a directory (names included, manifest
    excluded)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if f.name == MANIFEST:
            continue
        h.update(str(f.relative_to(path) if f != path else f.name).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def code_version() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(compass.__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{compass.__version__}+{rev}" if rev else compass.__version__


def write_manifest(
    out_dir: str | Path,
    stage: str,
    config: dict[str, Any],
    inputs: dict[str, str | Path] | None = None,
    metrics: dict[str, Any] | None = None,
    wall_time_s: float | None = None,
) -> dict[str, Any]:
    manifest = {
        "stage": stage,
        "config": config,
        "inputs": {k: {"path": str(v), "hash": hash_path(v)} for k, v in (inputs or {}).items()},
        "metrics": metrics or {},
        "wall_time_s": wall_time_s,
        "code_version": code_version(),
        "python": platform.python_version(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_json(Path(out_dir) / MANIFEST, manifest)
    return manifest


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    p = Path(out_dir) / MANIFEST
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError:
        return None
