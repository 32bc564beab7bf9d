"""``REPORT.md`` of a pipeline run: one section per stage from its manifest, with its plots."""

from __future__ import annotations

import json
from pathlib import Path

from compass.utils.io import atomic_write_text
from compass.utils.manifest import read_manifest


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict | list):
        text = json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) <= 160 else text[:157] + "..."
    return str(v)


def write_report(run_dir: Path, step_names: list[str], recipe_name: str) -> Path:
    lines = [
        f"# Compass run: recipe `{recipe_name}`",
        "",
        "| stage | wall time (s) | status |",
        "|---|---|---|",
    ]
    total = 0.0
    for name in step_names:
        m = read_manifest(run_dir / name)
        wall = (m or {}).get("wall_time_s") or 0.0
        total += wall
        status = "done" if m and m.get("complete") else "not run"
        lines.append(f"| {name} | {wall:.1f} | {status} |")
    lines += [f"| **total** | **{total:.1f}** | |", ""]
    for name in step_names:
        m = read_manifest(run_dir / name)
        if not m:
            continue
        lines += [f"## {name}", ""]
        for k, v in (m.get("metrics") or {}).items():
            lines.append(f"- **{k}**: {_fmt(v)}")
        for png in sorted((run_dir / name).rglob("*.png"))[:4]:
            lines.append(f"\n![{png.stem}]({png.relative_to(run_dir)})")
        for md in sorted((run_dir / name).glob("*.md"))[:1]:
            lines += ["", md.read_text().strip()]
        lines.append("")
    path = run_dir / "REPORT.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
