"""Training throughput: tokens/s and MFU of the Compass loop vs transformers' Qwen2-MoE.

For each recipe (tiny; small unless --skip-small) on the same random batch shape:
- ``compass``: the real training loop (``compass.train.Trainer``: fwd + bwd + clip + AdamW, MoE
  losses on) on random tokens, steady-state median step time.
- ``hf``: the same architecture as transformers ``Qwen2MoeForCausalLM`` loaded from our HF
  export (``compass.export.hf``), with its router aux loss on, fwd + bwd + clip + AdamW.
MFU = model FLOPs/s ÷ the float32 GEMM peak measured in the same run with the same threads
(model FLOPs/token = 6 × active matmul params + 6 × layers × seq × heads × head_dim for causal
attention). Prints the ratios and writes bench/results/train_throughput.md.

    .venv/bin/python bench/train_throughput.py [--skip-small] [--steps 6]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import describe

from compass.model.io import save_model
from compass.model.transformer import CompassModel
from compass.recipes import get_recipe
from compass.train.config import TrainConfig
from compass.train.loop import Trainer
from compass.train.stage import count_label_tokens, lm_loss

RESULTS = Path(__file__).parent / "results"


def gemm_peak(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def flops_per_token(model: CompassModel, seq_len: int) -> float:
    c = model.config
    active = model.num_parameters()["active"] - model.num_parameters()["embedding"]
    return 6 * active + 6 * c.n_layers * seq_len * c.n_heads * c.head_dim


class RandomStage:
    name = "bench"

    def __init__(self, vocab: int, batch: int, seq: int):
        self.gen = torch.Generator().manual_seed(0)
        self.vocab, self.batch, self.seq = vocab, batch, seq

    def next_batch(self):
        ids = torch.randint(0, self.vocab, (self.batch, self.seq + 1), generator=self.gen)
        return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}

    def loss_units(self, batch):
        return count_label_tokens(batch)

    def loss(self, model, batch):
        return lm_loss(model, batch, isolate_docs=False)

    def eval_sets(self):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def interleaved_step_s(steps: dict[str, callable], n: int) -> dict[str, list[float]]:
    """Wall time of each ``step()`` over ``n`` rounds after one warm-up call each, the candidates
    taking turns so a load spike from other processes hits them alike; waits for queued GPU
    work on both sides of each call so the time is the step's own."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for _ in range(n):
        for name, step in steps.items():
            _sync()
            t = time.perf_counter()
            step()
            _sync()
            times[name].append(time.perf_counter() - t)
    return times


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def compass_step(model: CompassModel, batch: int, seq: int, steps: int, tmp: Path):
    """The real loop on the default device (bf16 autocast there when it is a GPU)."""
    cfg = TrainConfig(
        steps=steps,
        micro_batch_size=batch,
        seq_len=seq,
        warmup_steps=1,
        eval_every=0,
        ckpt_every=0,
        log_every=10**6,
        mixed_precision=torch.cuda.is_available(),
    )
    trainer = Trainer(model, RandomStage(model.config.vocab_size, batch, seq), cfg, tmp)
    return trainer.train_step


def hf_step(hf, vocab: int, batch: int, seq: int):
    """transformers' model where it lives (bf16 autocast on a GPU, like the loop)."""
    opt = torch.optim.AdamW(hf.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    dev = hf.device

    def step():
        ids = torch.randint(0, vocab, (batch, seq), generator=gen).to(dev)
        with torch.autocast(dev.type, torch.bfloat16, enabled=dev.type == "cuda"):
            out = hf(input_ids=ids, labels=ids, output_router_logits=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(hf.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def run_recipe(name: str, batch: int, seq: int, steps: int, peak: float) -> dict:
    from transformers import AutoModelForCausalLM

    from compass.export.hf import export_hf

    model = CompassModel(get_recipe(name).model)
    model.init_weights(0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        save_model(model, tmp / "ckpt")
        export_hf(tmp / "ckpt", tmp / "hf")
        hf = AutoModelForCausalLM.from_pretrained(tmp / "hf", dtype=torch.float32).train()
        fpt = flops_per_token(model, seq)
        times = interleaved_step_s(
            {
                "compass": compass_step(model, batch, seq, steps + 10, tmp / "run"),
                "hf": hf_step(hf, get_recipe(name).model.vocab_size, batch, seq),
            },
            steps,
        )
    t_ours, t_hf = statistics.median(times["compass"]), statistics.median(times["hf"])
    per_round = statistics.median(h / c for c, h in zip(times["compass"], times["hf"]))
    tokens = batch * seq
    return {
        "recipe": name,
        "batch": f"{batch}x{seq}",
        "compass_tok_s": tokens / t_ours,
        "hf_tok_s": tokens / t_hf,
        "compass_mfu": tokens / t_ours * fpt / peak,
        "hf_mfu": tokens / t_hf * fpt / peak,
        "speedup": t_hf / t_ours,
        "per_round": per_round,
        "best": min(times["hf"]) / min(times["compass"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-small", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "train_throughput.md"))
    ap.add_argument("--steps", type=int, default=10, help="timed rounds (after one warm-up)")
    args = ap.parse_args()
    peak = gemm_peak()
    rows = [run_recipe("tiny", 8, 256, args.steps, peak)]
    if not args.skip_small:
        rows.append(run_recipe("small", 1, 256, max(3, args.steps // 2), peak))
    lines = [
        "# Training throughput (fwd + bwd + clip + AdamW, float32, CPU)",
        "",
        f"Machine: {describe()} (shared box); {torch.get_num_threads()} torch threads; "
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"command `.venv/bin/python bench/train_throughput.py {' '.join(sys.argv[1:])}`"
        f"; float32 GEMM peak {peak / 1e9:.1f} GFLOP/s (1024² matmul, best of 20). Baseline: "
        "transformers Qwen2MoeForCausalLM on the exported weights, same batch, its steps "
        f"interleaved with ours ({args.steps} rounds after a warm-up).",
        "",
        "| recipe | batch | compass tok/s | hf tok/s | compass MFU | hf MFU | speed-up vs hf "
        "(medians) | median per round | best vs best |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['recipe']} | {r['batch']} | {r['compass_tok_s']:.0f} | {r['hf_tok_s']:.0f} | "
            f"{100 * r['compass_mfu']:.1f}% | {100 * r['hf_mfu']:.1f}% | {r['speedup']:.2f}× | "
            f"{r['per_round']:.2f}× | {r['best']:.2f}× |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
