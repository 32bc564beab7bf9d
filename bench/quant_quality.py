"""Quantization quality (report Table 5 analogue): held-out perplexity and next-token accuracy of
fp32 vs fp8 vs int8 vs awq-int4 vs round-to-nearest int4, and checkpoint sizes.

Baseline: the float32 model, evaluated in the same run. Without ``--ckpt`` a tiny-recipe model
(vocab cut to 512: byte-level tokens) is trained here for ``--steps`` on the project's generated
multilingual e-commerce text and cached in ``runs/quant_bench/`` (the pretraining stage is not
required). Held-out text comes from a different generator seed than training and calibration.

    .venv/bin/python bench/quant_quality.py [--ckpt DIR --val IDS.npy] [--steps 600]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compass.data.synth.config import DataGenConfig
from compass.data.synth.generate import clean_docs
from compass.data.synth.world import World
from compass.model.io import load_model, save_model
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, quantize_model, save_quantized
from compass.quant import weights as qweights
from compass.recipes import get_recipe

EOS = 256
CACHE = Path("runs/quant_bench")


def byte_stream(seed: int, n_docs: int) -> torch.Tensor:
    cfg = DataGenConfig(seed=seed, n_docs=n_docs)
    world = World.build(seed, n_products=300, n_shops=30, n_users=100)
    ids: list[int] = []
    for d in clean_docs(world, cfg):
        ids.extend(d["text"].encode("utf-8"))
        ids.append(EOS)
    return torch.tensor(ids, dtype=torch.long)


def windows(stream: torch.Tensor, n: int, seq: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(stream) - seq - 1, (n,), generator=g)
    return torch.stack([stream[s : s + seq + 1] for s in starts.tolist()])


def train_tiny(steps: int, seq: int, batch: int) -> CompassModel:
    cfg = get_recipe("tiny").model
    cfg.vocab_size = 512
    torch.manual_seed(0)
    model = CompassModel(cfg)
    model.init_weights(0)
    stream = byte_stream(seed=1, n_docs=12000)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    t0 = time.time()
    for step in range(steps):
        lr = (
            3e-3
            * min(1.0, (step + 1) / 30)
            * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        )
        for group in opt.param_groups:
            group["lr"] = lr
        xy = windows(stream, batch, seq, seed=step)
        out = model(xy[:, :-1])
        loss = F.cross_entropy(out.logits_BTV.flatten(0, 1), xy[:, 1:].flatten())
        (loss + 0.01 * out.aux_loss + 0.001 * out.z_loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == steps - 1:
            print(f"train step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    return model.eval()


@torch.no_grad()
def evaluate(model: CompassModel, val: torch.Tensor, batch: int = 8) -> dict[str, float]:
    nll, correct, n = 0.0, 0, 0
    for b in range(0, len(val), batch):
        xy = val[b : b + batch]
        logits = model(xy[:, :-1]).logits_BTV.float()
        tgt = xy[:, 1:]
        nll += float(F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="sum"))
        correct += int((logits.argmax(-1) == tgt).sum())
        n += tgt.numel()
    return {"ppl": math.exp(nll / n), "acc": correct / n}


def file_bytes(d: Path) -> int:
    return (d / "model.safetensors").stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", help="trained float checkpoint (default: train a tiny one here)")
    ap.add_argument("--val", help=".npy of held-out token ids (required with --ckpt)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--out", default="bench/results/quant_quality.md")
    args = ap.parse_args()
    # One thread: on this shared, loaded 2-core box two threads ran 3-8x slower (oversubscription).
    torch.set_num_threads(1)
    if args.ckpt:
        model = load_model(args.ckpt)
        stream = torch.as_tensor(np.load(args.val).reshape(-1).astype(np.int64))
        split = len(stream) // 2
        calib_stream, val_stream, ckpt_desc = stream[:split], stream[split:], args.ckpt
    else:
        ckpt = CACHE / f"tiny_bytes_{args.steps}"
        if (ckpt / "model.safetensors").exists():
            model = load_model(ckpt)
        else:
            model = train_tiny(args.steps, args.seq, batch=16)
            save_model(model, ckpt)
        calib_stream, val_stream = (
            byte_stream(seed=1, n_docs=2000),
            byte_stream(seed=7, n_docs=2000),
        )
        ckpt_desc = f"tiny recipe (vocab 512, byte tokens), trained here {args.steps} steps"
    val = windows(val_stream, 64, args.seq, seed=123)
    calib = windows(calib_stream, 64, args.seq, seed=321)[:, :-1]
    tmp = Path(tempfile.mkdtemp())
    save_model(model, tmp / "fp32")
    head = model.lm_head.weight.numel() * 4
    fp32_bytes = file_bytes(tmp / "fp32") - head
    base = evaluate(model, val)
    rows = [("fp32", base, 1.0, {})]
    variants = [
        ("fp8", QuantConfig(method="fp8")),
        ("int8", QuantConfig(method="int8")),
        ("awq-int4 g32", QuantConfig(method="awq-int4", group_size=32)),
        # Per-weight input scales (not AutoAWQ's folded ones): a tighter fit, no exact AWQ export.
        ("awq-int4 g32 unfolded", QuantConfig(method="awq-int4", group_size=32, awq_fold=False)),
        ("rtn-int4 g32", QuantConfig(method="rtn-int4", group_size=32)),
        ("awq-int4 g128", QuantConfig(method="awq-int4", group_size=128)),
        ("rtn-int4 g128", QuantConfig(method="rtn-int4", group_size=128)),
    ]
    for name, qcfg in variants:
        stats: dict = {}
        t0 = time.time()
        q = quantize_model(copy.deepcopy(model), qcfg, calib, stats)
        wall = time.time() - t0
        save_quantized(q, tmp / name.replace(" ", "_"))
        ratio = (file_bytes(tmp / name.replace(" ", "_")) - head) / fp32_bytes
        res = evaluate(q, val)
        extra = {"quantize_s": round(wall, 1)}
        searched = [s for s in stats.values() if s.get("alpha") is not None]
        if searched:
            extra["calib_err/rtn"] = round(
                sum(s["err"] for s in searched) / sum(s["err_rtn"] for s in searched), 3
            )
        rows.append((name, res, ratio, extra))
        if name == "awq-int4 g32":
            # The decode path: every matmul through the packed kernels (bfloat16 activations).
            old, qweights.KERNEL_MAX_ROWS = qweights.KERNEL_MAX_ROWS, 10**9
            rows.append((name + " (packed kernel path)", evaluate(q, val), ratio, {}))
            qweights.KERNEL_MAX_ROWS = old
        print(name, res, f"size {ratio:.3f}", extra, flush=True)
    write_report(args, rows, base, ckpt_desc, len(val), val.shape[1] - 1)
    return 0


def write_report(args, rows, base, ckpt_desc, n_val, seq) -> None:
    lines = [
        "# Quantization quality (bench/quant_quality.py)",
        "",
        f"- machine: {platform.machine()} {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `.venv/bin/python {' '.join(sys.argv)}`",
        f"- model: {ckpt_desc}; held-out: {n_val} windows × {seq} tokens (other generator seed)",
        "- size = quantized model.safetensors / float32 one, both without the float32 LM head",
        "",
        "| weights | perplexity | Δppl vs fp32 | next-token acc | size | notes |",
        "|---|---|---|---|---|---|",
    ]
    for name, res, ratio, extra in rows:
        d = res["ppl"] / base["ppl"] - 1
        lines.append(
            f"| {name} | {res['ppl']:.4f} | {d:+.2%} | {res['acc']:.4f} | {ratio:.3f}× | "
            f"{json.dumps(extra) if extra else ''} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
