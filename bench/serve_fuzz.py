"""Fuzz ``compass serve`` (real engine, micro model) with schemathesis against its OpenAPI schema.

Every generated request — valid and invalid — must get a non-5xx answer, and the server must stay
up. The baseline is the same run's count of requests that the schema calls valid vs invalid as
schemathesis reports them; the check is 0 server errors.

    .venv/bin/python bench/serve_fuzz.py --max-examples 300
Writes bench/results/serve_fuzz.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import build_artifacts, start_server

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--max-examples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from compass.serve.server import free_port

    with tempfile.TemporaryDirectory() as tmp:
        ckpt, tok = build_artifacts(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        ns = argparse.Namespace(max_concurrent=8, max_queue=16, max_tokens=32)
        log = Path(__file__).parent / "out" / "serve_fuzz_server.log"
        log.parent.mkdir(exist_ok=True)
        proc = start_server(ckpt, tok, port, ns, log)
        t0 = time.perf_counter()
        try:
            st = Path(sys.executable).parent / "schemathesis"
            cmd = [
                str(st),
                "run",
                url + "/openapi.json",
                "--checks",
                "not_a_server_error",
                "-n",
                str(args.max_examples),
                "--seed",
                str(args.seed),
                "--request-timeout",
                "60",
                "--suppress-health-check",
                "all",
                "--no-color",
            ]
            res = subprocess.run(
                cmd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}
            )
            alive = httpx.get(url + "/health", timeout=5).status_code == 200
            metrics = httpx.get(url + "/metrics").text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    wall = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for line in metrics.splitlines():
        m = re.match(r'compass_requests_total\{endpoint="([^"]+)",status="(\d+)"\} (\d+)', line)
        if m:
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(3))
    errors_5xx = sum(v for k, v in counts.items() if k.startswith("5"))
    total = sum(counts.values())
    passed = res.returncode == 0 and errors_5xx == 0 and alive
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    # keep any failure's reproduction (schemathesis prints a curl line per unique failure)
    summary = [ln for ln in lines if "curl " in ln or "ST1" in ln or "status" in ln.lower()][:20]
    summary += lines[-8:]
    report = "\n".join(
        [
            "# compass serve fuzzed by schemathesis",
            "",
            f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}; "
            f"machine: {platform.machine()}, "
            f"{os.cpu_count()} CPUs (shared); "
            f"schemathesis max-examples {args.max_examples}, seed {args.seed}",
            f"- command: `.venv/bin/python bench/serve_fuzz.py {' '.join(sys.argv[1:])}`",
            "- server: `compass serve` on a random-init tiny model, real engine "
            "(its log: bench/out/serve_fuzz_server.log)",
            f"- requests seen by the server: {total}; by status: {dict(sorted(counts.items()))}",
            f"- 5xx: **{errors_5xx}**; server alive after: {alive}; wall {wall:.0f} s",
            f"- verdict: {'PASS' if passed else 'FAIL'} (schemathesis exit {res.returncode})",
            "",
            "```",
            *summary,
            "```",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve_fuzz.md").write_text(report + "\n", encoding="utf-8")
    sys.stdout.write(report + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
