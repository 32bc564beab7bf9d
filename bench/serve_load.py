"""Load on ``compass serve``: N chat requests at concurrency C against the tiny model.

The server runs as its own process (``compass serve``), so its memory is measured alone. Half the
requests stream. Checks the serving bar — 0 server errors, every request answered (200) or
cleanly refused (429), server RSS back to its post-warm-up baseline — and prints the throughput
ratio of the concurrent run against a named baseline measured in the same run: the same requests
sent one at a time (``sequential``), which is what a server without continuous batching gives.

    .venv/bin/python bench/serve_load.py                       # 1,000 requests at concurrency 32
    .venv/bin/python bench/serve_load.py --max-queue 8 --name serve_load_overload  # 429s
Writes bench/results/NAME.md (default serve_load.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

RESULTS = Path(__file__).parent / "results"
LINES = {
    "en": "Free shipping on all orders over $50. The battery lasts ten hours.",
    "th": "สินค้าคุณภาพดีมาก ส่งของรวดเร็ว ขอบคุณค่ะ เสื้อตัวนี้มีไซส์ใหญ่กว่านี้ไหมครับ",
    "vi": "Sản phẩm chất lượng tốt, giao hàng nhanh, cảm ơn shop! Áo này có size lớn hơn không ạ?",
    "zh": "这款手机壳质量很好，物流也很快。请问这件衣服有没有大码？",
    "id": "Barang sudah sampai dengan selamat, terima kasih kak!",
}
PROMPTS = list(LINES.values())


def build_artifacts(tmp: Path) -> tuple[Path, Path]:
    """Random-init tiny model (vocab = the tokenizer's) and a small trained tokenizer."""
    from compass.model.io import save_model
    from compass.model.transformer import CompassModel
    from compass.recipes import get_recipe
    from compass.tokenizer.build import train_tokenizer
    from compass.tokenizer.config import TokenizerConfig

    (tmp / "docs").mkdir(parents=True)
    with open(tmp / "docs" / "d.jsonl", "w", encoding="utf-8") as f:
        for i in range(40):
            for lang, text in LINES.items():
                f.write(
                    json.dumps({"text": f"{text} {i}", "lang": lang}, ensure_ascii=False) + "\n"
                )
    train_tokenizer(TokenizerConfig(vocab_size=512), [str(tmp / "docs")], tmp / "tokenizer")
    cfg = get_recipe("tiny").model
    cfg.vocab_size = 512
    model = CompassModel(cfg)
    model.init_weights(0)
    save_model(model, tmp / "ckpt")
    return tmp / "ckpt", tmp / "tokenizer"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_load(url: str, n: int, concurrency: int, max_tokens: int) -> dict:
    sem = asyncio.Semaphore(concurrency)
    codes: list[int] = []
    lat: list[float] = []
    tokens = 0

    async def one(client: httpx.AsyncClient, i: int) -> None:
        nonlocal tokens
        body = {
            "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            "max_tokens": max_tokens,
            "temperature": 0.8,
            "seed": i,
            "stream": i % 2 == 0,
            "stream_options": {"include_usage": True},
        }
        async with sem:
            t0 = time.perf_counter()
            r = await client.post(url + "/v1/chat/completions", json=body)
            codes.append(r.status_code)
            if r.status_code != 200:
                return
            lat.append(time.perf_counter() - t0)
            if body["stream"]:
                usage = [json.loads(x[6:]) for x in r.text.split("\n") if x.startswith("data: {")][
                    -1
                ]
                tokens += usage["usage"]["completion_tokens"]
            else:
                tokens += r.json()["usage"]["completion_tokens"]

    t0 = time.perf_counter()
    async with httpx.AsyncClient(
        timeout=300, limits=httpx.Limits(max_connections=concurrency + 4)
    ) as c:
        await asyncio.gather(*(one(c, i) for i in range(n)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": n,
        "ok": codes.count(200),
        "rejected_429": codes.count(429),
        "server_errors": sum(c >= 500 for c in codes),
        "other": sum(c not in (200, 429) and c < 500 for c in codes),
        "wall_s": wall,
        "tokens": tokens,
        "tok_per_s": tokens / wall,
        "p50_s": statistics.median(lat) if lat else float("nan"),
        "p95_s": lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
    }


def start_server(
    ckpt: Path, tok: Path, port: int, args, log: Path | None = None
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "compass.cli",
        "serve",
        str(ckpt),
        "--tokenizer",
        str(tok),
        "--port",
        str(port),
        f"--serve.max_concurrent={args.max_concurrent}",
        f"--serve.max_queue={args.max_queue}",
        f"--serve.max_new_tokens={args.max_tokens}",
    ]
    sink = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("compass serve did not come up within 120 s")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--baseline-requests", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--max-concurrent", type=int, default=16)
    ap.add_argument("--max-queue", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="load rounds (RSS after each)")
    ap.add_argument("--name", default="serve_load", help="results file: bench/results/NAME.md")
    ap.add_argument(
        "--checkpoint", help="serve this checkpoint instead of a random-init tiny model"
    )
    ap.add_argument("--tokenizer")
    args = ap.parse_args()
    from compass.serve.server import free_port

    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoint:
            ckpt, tok = Path(args.checkpoint), Path(args.tokenizer)
        else:
            ckpt, tok = build_artifacts(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(ckpt, tok, port, args)
        try:
            asyncio.run(run_load(url, 8, 4, args.max_tokens))  # warm-up: allocations settle
            rss_base = rss_mb(proc.pid)
            seq = asyncio.run(run_load(url, args.baseline_requests, 1, args.max_tokens))
            peak = [rss_base]

            async def sampled():
                async def sample():
                    while True:
                        peak.append(rss_mb(proc.pid))
                        await asyncio.sleep(0.2)

                task = asyncio.create_task(sample())
                try:
                    return await run_load(url, args.requests, args.concurrency, args.max_tokens)
                finally:
                    task.cancel()

            rss_rounds = []
            for _ in range(args.rounds):  # later rounds show whether memory keeps growing
                load = asyncio.run(sampled())
                time.sleep(2)
                rss_rounds.append(rss_mb(proc.pid))
            rss_after = rss_rounds[-1]
            metrics = httpx.get(url + "/metrics").text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    ratio = load["tok_per_s"] / seq["tok_per_s"]
    passed = (
        load["server_errors"] == 0
        and load["other"] == 0
        and load["ok"] + load["rejected_429"] == load["requests"]
        and rss_after <= rss_base * 1.10 + 20
    )
    rows = [
        f"| sequential (baseline) | {seq['requests']} | 1 | {seq['ok']} | {seq['rejected_429']} | "
        f"{seq['server_errors']} | {seq['tok_per_s']:.1f} | {seq['p50_s']:.3f} "
        f"| {seq['p95_s']:.3f} |",
        f"| concurrent (last of {args.rounds} rounds) | {load['requests']} | {args.concurrency} "
        f"| {load['ok']} | {load['rejected_429']} | "
        f"{load['server_errors']} | {load['tok_per_s']:.1f} | {load['p50_s']:.3f} "
        f"| {load['p95_s']:.3f} |",
    ]
    report = "\n".join(
        [
            "# compass serve under load",
            "",
            f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}; "
            f"machine: {platform.machine()}, "
            f"{os.cpu_count()} CPUs (shared, loaded); python {platform.python_version()}",
            f"- command: `{' '.join(['.venv/bin/python', 'bench/serve_load.py', *sys.argv[1:]])}`",
            "- model: "
            f"{'random-init tiny recipe (vocab 512 = tokenizer)' if not args.checkpoint else ckpt}"
            f"; max_tokens {args.max_tokens}; server max_concurrent {args.max_concurrent}, "
            f"max_queue {args.max_queue}",
            "",
            "| run | requests | concurrency | 200 | 429 | 5xx | output tok/s "
            "| p50 latency s | p95 latency s |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"- throughput ratio concurrent / sequential: **{ratio:.2f}x**",
            f"- server RSS: baseline {rss_base:.0f} MB, peak {max(peak):.0f} MB, "
            f"after {rss_after:.0f} MB "
            f"({rss_after / rss_base:.3f}x baseline); after each round: "
            + ", ".join(f"{r:.0f}" for r in rss_rounds)
            + " MB",
            f"- verdict: {'PASS' if passed else 'FAIL'} "
            "(0 server errors, all 200 or 429, RSS back within 10%)",
            "",
            "```",
            *[
                ln
                for ln in metrics.splitlines()
                if ln.startswith(("compass_requests_total", "compass_rejected"))
            ],
            "```",
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(report + "\n", encoding="utf-8")
    sys.stdout.write(report + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
