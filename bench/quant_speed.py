"""Decode-shape speed of the quantized weight paths vs float32 on this CPU.

1. Per weight shape (tiny / small / 30B-A5B layers), x ``[M, K]`` with M = 1, 4, 16 rows:
   float32 ``F.linear`` (the baseline) vs INT4 through PyTorch's packed CPU kernel
   (``_weight_int4pack_mm_for_cpu``, bfloat16 activations), INT8 through
   ``_weight_int8pack_mm``, FP8 (upcast to float32 per call) and INT4 dequantize + float32 GEMM.
2. One whole-model decode step (KV cache at 128 tokens, batch 1 and 8) of a model with the
   ``small`` recipe's layer shapes (fewer layers, ``--layers``) for fp32 / int8 / awq-int4 / fp8.
Timings: the minimum over repeats of the mean of several calls (the box is shared and loaded).

    .venv/bin/python bench/quant_speed.py [--layers 4] [--out bench/results/quant_speed.md]
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from compass.model.kv_cache import KVCache
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, quantize_model
from compass.quant import weights as qw
from compass.recipes import get_recipe

SHAPES = [  # (name, N out, K in, group)
    ("tiny attn q [128,128]", 128, 128, 32),
    ("tiny expert gate_up [256,128]", 256, 128, 32),
    ("small attn q [768,768]", 768, 768, 128),
    ("small expert gate_up [1024,768]", 1024, 768, 128),
    ("30B attn q [3072,3072]", 3072, 3072, 128),
    ("30B expert gate_up [4096,3072]", 4096, 3072, 128),
    ("30B expert down [3072,2048]", 3072, 2048, 128),
]


def timeit(fn, reps: int = 7, min_s: float = 0.05) -> float:
    fn()
    n, t0 = 1, time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    n = max(1, int(min_s / one))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


@torch.no_grad()
def matmul_table() -> list[str]:
    rows = ["| weight | M | fp32 µs | int4 kernel | int8 kernel | fp8 upcast | int4 dequant+GEMM |"]
    rows.append("|---|---|---|---|---|---|---|")
    for name, n, k, g in SHAPES:
        w = torch.randn(n, k) * 0.02
        i4, i8, f8 = (
            qw.Int4Weight.from_float(w, g), qw.Int8Weight.from_float(w), qw.FP8Weight.from_float(w)
        )  # fmt: skip
        for m in (1, 4, 16):
            x = torch.randn(m, k)
            base = timeit(lambda: F.linear(x, w))  # noqa: B023
            times = [
                timeit(lambda: i4.linear(x)),  # noqa: B023
                timeit(lambda: i8.linear(x)),  # noqa: B023
                timeit(lambda: f8.linear(x)),  # noqa: B023
                timeit(lambda: F.linear(x, i4.dequantize())),  # noqa: B023
            ]
            cells = " | ".join(f"{t * 1e6:.0f} ({base / t:.2f}×)" for t in times)
            rows.append(f"| {name} | {m} | {base * 1e6:.0f} | {cells} |")
            print(rows[-1], flush=True)
    return rows


@torch.no_grad()
def decode_table(n_layers: int) -> list[str]:
    cfg = get_recipe("small").model
    cfg.n_layers = n_layers
    torch.manual_seed(0)
    model = CompassModel(cfg)
    model.init_weights(0)
    model.eval()
    variants = {"fp32": model}
    calib = torch.randint(0, cfg.vocab_size, (2, 64))
    for method in ("int8", "awq-int4", "fp8"):
        # awq_grid=1 keeps alpha = 0 (the search's cost is not what is measured here), but the
        # AWQ layout and its per-call input scaling are: the runtime path is the real one.
        qcfg = QuantConfig(method=method, awq_grid=1, calib_max_rows=256)
        variants[method] = quantize_model(copy.deepcopy(model), qcfg, calib)
    rows = [
        f"| decode step ({n_layers}-layer `small` shapes) | batch | ms | vs fp32 |",
        "|---|---|---|---|",
    ]
    for batch in (1, 8):
        prompt = torch.randint(0, cfg.vocab_size, (batch, 128))
        base = None
        for name, m in variants.items():
            cache = KVCache.for_model(cfg, batch, max_len=160)
            m(prompt, cache=cache)
            nxt = torch.randint(0, cfg.vocab_size, (batch, 1))
            pos = torch.full((batch, 1), 128)

            def step(m=m, cache=cache, nxt=nxt, pos=pos):
                m(nxt, positions_BT=pos, cache=cache)
                cache.lengths.fill_(128)  # re-run the same step: position 128 again

            t = timeit(step, reps=5, min_s=0.2)
            base = base or t
            rows.append(f"| {name} | {batch} | {t * 1e3:.2f} | {base / t:.2f}× |")
            print(rows[-1], flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--out", default="bench/results/quant_speed.md")
    ap.add_argument("--threads", type=int, default=1, help="1: the shared box oversubscribes 2")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    head = [
        "# Quantized decode speed (bench/quant_speed.py)",
        "",
        f"- machine: {platform.machine()}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}; shared 2-core box under load from other jobs (noisy)",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `.venv/bin/python {' '.join(sys.argv)}`",
        f"- packed kernels are used up to {qw.KERNEL_MAX_ROWS} rows; cells: µs (speed-up vs fp32)",
        "",
    ]
    lines = head + matmul_table() + [""] + decode_table(args.layers)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
