"""Serving throughput and latency over concurrency (report §6, Figures 15–16).

Drives any OpenAI-compatible ``/v1/completions`` endpoint (``compass serve``, vLLM, SGLang) with
fixed-length prompts: token-id prompts of exactly ``input_tokens`` (generated prose, repeated or
truncated, when a tokenizer is given — the report's ShareGPT procedure — else random ids) and
``max_tokens=output_tokens`` with ``ignore_eos`` (honoured by vLLM; servers without it may stop
early, which the measured output token counts then show). At each concurrency level ``c`` there
are always ``c`` requests in flight until ``c × rounds`` have finished. Output throughput is the
total output tokens over the level's wall time, as in the report; failed requests are counted and
reported, never folded into the averages.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

log = logging.getLogger(__name__)

REPORT_SETTINGS = {"fig15": (1200, 200), "fig16": (1024, 256)}  # (input, output) tokens


@dataclass
class ThroughputConfig:
    url: str = "http://127.0.0.1:8000"
    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256])
    input_tokens: int = 1200
    output_tokens: int = 200
    rounds: int = 2  # requests per level = concurrency × rounds
    model: str = ""  # "" = the first model /v1/models lists
    api_key: str = ""
    timeout_s: float = 600.0
    vocab_limit: int = 1000  # random prompt ids are drawn below this when no tokenizer is given
    seed: int = 0


@dataclass
class Sample:
    ok: bool
    latency_s: float
    prompt_tokens: int = 0
    output_tokens: int = 0
    error: str = ""


def fixed_prompts(n: int, length: int, tokenizer=None, seed: int = 0, vocab_limit: int = 1000):
    """``n`` token-id prompts of exactly ``length`` ids, different from each other (so a prefix
    cache cannot serve them all from one prefill)."""
    rng = random.Random(seed)
    if tokenizer is None:
        return [[rng.randrange(10, vocab_limit) for _ in range(length)] for _ in range(n)]
    from compass.data.synth.prose import prose_doc
    from compass.eval.backend import encode_text
    from compass.languages import LANGS as langs

    out = []
    for i in range(n):
        ids: list[int] = []
        while len(ids) < length:
            ids += encode_text(tokenizer, prose_doc(langs[i % len(langs)], rng) + "\n")
        out.append(ids[:length])
    return out


async def _one(client: httpx.AsyncClient, cfg: ThroughputConfig, prompt: list[int]) -> Sample:
    body = {
        "model": cfg.model,
        "prompt": prompt,
        "max_tokens": cfg.output_tokens,
        "temperature": 0.0,
        "ignore_eos": True,
    }
    t0 = time.perf_counter()
    try:
        r = await client.post("/v1/completions", json=body)
        dt = time.perf_counter() - t0
        if r.status_code != 200:
            return Sample(False, dt, error=f"HTTP {r.status_code}: {r.text[:120]}")
        usage = r.json().get("usage") or {}
        if "completion_tokens" not in usage:
            return Sample(False, dt, error="response has no usage.completion_tokens")
        return Sample(True, dt, int(usage.get("prompt_tokens", 0)), int(usage["completion_tokens"]))
    except (httpx.HTTPError, ValueError) as e:
        return Sample(False, time.perf_counter() - t0, error=f"{type(e).__name__}: {e}")


async def run_level(cfg: ThroughputConfig, c: int, prompts: list[list[int]]) -> dict[str, Any]:
    """Keep ``c`` requests in flight until every prompt has been answered."""
    headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    queue: asyncio.Queue[list[int]] = asyncio.Queue()
    for p in prompts:
        queue.put_nowait(p)
    samples: list[Sample] = []
    async with httpx.AsyncClient(
        base_url=cfg.url, headers=headers, timeout=cfg.timeout_s, limits=limits
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                samples.append(await _one(client, cfg, queue.get_nowait()))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        wall = time.perf_counter() - t0
    return level_row(c, samples, wall)


def level_row(c: int, samples: list[Sample], wall_s: float) -> dict[str, Any]:
    ok = [s for s in samples if s.ok]
    lat = np.array([s.latency_s for s in ok]) if ok else np.array([np.nan])
    out_tokens = sum(s.output_tokens for s in ok)
    errors = [s.error for s in samples if not s.ok]
    return {
        "concurrency": c,
        "requests": len(samples),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "input_tokens": sum(s.prompt_tokens for s in ok),
        "output_tokens": out_tokens,
        # Below the asked output length when the server stops at EOS (no ignore_eos support).
        "mean_output_tokens": out_tokens / len(ok) if ok else float("nan"),
        "wall_s": wall_s,
        "output_tokens_per_s": out_tokens / wall_s if ok else float("nan"),
        "requests_per_s": len(ok) / wall_s if ok else float("nan"),
        "latency_mean_s": float(lat.mean()),
        "latency_p50_s": float(np.percentile(lat, 50)),
        "latency_p90_s": float(np.percentile(lat, 90)),
        "latency_p99_s": float(np.percentile(lat, 99)),
    }


def resolve_model(cfg: ThroughputConfig) -> str:
    if cfg.model:
        return cfg.model
    headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
    try:
        r = httpx.get(f"{cfg.url}/v1/models", headers=headers, timeout=30)
        r.raise_for_status()
        return r.json()["data"][0]["id"]
    except (httpx.HTTPError, KeyError, IndexError, ValueError) as e:
        raise ConnectionError(
            f"{cfg.url}/v1/models did not answer with a model list ({e}); is the server up? "
            "(start one with `compass serve --model CKPT`, or pass --url and --served-model)"
        ) from None


def run_throughput(cfg: ThroughputConfig, tokenizer=None) -> list[dict[str, Any]]:
    cfg.model = resolve_model(cfg)
    rows = []
    for c in cfg.concurrency:
        prompts = fixed_prompts(
            c * cfg.rounds, cfg.input_tokens, tokenizer, cfg.seed + c, cfg.vocab_limit
        )
        row = asyncio.run(run_level(cfg, c, prompts))
        log.info(
            "concurrency %4d: %8.1f output tok/s, latency mean %.2f s p99 %.2f s, %d/%d errors",
            c,
            row["output_tokens_per_s"],
            row["latency_mean_s"],
            row["latency_p99_s"],
            row["errors"],
            row["requests"],
        )
        if row["errors"]:
            log.warning(
                "concurrency %d: %d request(s) failed, e.g. %s",
                c,
                row["errors"],
                row["first_error"],
            )
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], cfg: ThroughputConfig) -> str:
    lines = [
        f"Throughput of {cfg.model} at {cfg.url}: {cfg.input_tokens} input / "
        f"{cfg.output_tokens} output tokens per request, {cfg.rounds} rounds per level.",
        "",
        "| concurrency | requests | errors | out tok/req | output tok/s | req/s | latency mean (s) "
        "| p50 | p90 | p99 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['requests']} | {r['errors']} | "
            f"{r['mean_output_tokens']:.1f} | {r['output_tokens_per_s']:.1f} | "
            f"{r['requests_per_s']:.2f} | "
            f"{r['latency_mean_s']:.3f} | {r['latency_p50_s']:.3f} | {r['latency_p90_s']:.3f} | "
            f"{r['latency_p99_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_throughput(
    rows: list[dict[str, Any]], cfg: ThroughputConfig, out_dir: str | Path
) -> dict[str, Path]:
    from dataclasses import asdict

    from compass.eval.plots import concurrency_plot
    from compass.utils.io import atomic_write_json, atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_d = {k: v for k, v in asdict(cfg).items() if k != "api_key"}
    atomic_write_json(out / "throughput.json", {"config": cfg_d, "levels": rows})
    atomic_write_text(out / "throughput.md", markdown(rows, cfg))
    title = f"{cfg.model}: {cfg.input_tokens} in / {cfg.output_tokens} out"
    png = concurrency_plot(rows, out / "throughput.png", title)
    return {"json": out / "throughput.json", "md": out / "throughput.md", "png": png}
