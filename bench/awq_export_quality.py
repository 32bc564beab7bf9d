"""What the AWQ-layout export (``compass export hf`` of an awq-int4 checkpoint) costs in quality.

Our default AWQ keeps one input scale per weight; the AutoAWQ format has none, so the export folds
the scales it can (down projections, o_proj when heads agree) and re-quantizes the rest
round-to-nearest (``compass/export/awq.py``); ``quant.awq_fold=true`` folds scales into the float
model at quantization time instead, and exports code for code. Rows: the float model, then for
awq-int4 (the baseline), awq-int4 with awq_fold and rtn-int4 (plain round-to-nearest) the
quantized model and its AWQ-layout export. Every model runs in float32 on its dequantized weights
(the export's through ``awq_layout.dequantize_awq``), so rows differ only by their weights. KL
vs float32 is the steadiest measure at this scale; perplexity moves by noise-sized amounts.

    .venv/bin/python bench/awq_export_quality.py --byte-model \
        --out bench/results/awq_export_quality_bytes.md
    .venv/bin/python bench/awq_export_quality.py --float runs/tiny/dpo/ckpt \
        --quant runs/tiny/quantize/awq-int4 --tokens runs/tiny/tokenize/shards [--fold QDIR]

``--byte-model`` uses bench/quant_quality.py's byte-level tiny model and text (trained there;
better trained than the pipeline's tiny run). For the pipeline's checkpoints, QDIR comes from
``compass quantize runs/tiny/dpo/ckpt --method awq-int4 --recipe tiny
--calib runs/tiny/tokenize/shards --quant.awq_fold=true --out QDIR``.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))  # quant_quality (--byte-model)

from compass.export.awq import REPORT
from compass.export.awq_layout import dequantize_awq
from compass.export.hf import export_hf, import_hf
from compass.model.io import load_model
from compass.model.transformer import CompassModel
from compass.quant import (
    QuantConfig,
    dequantized_model,
    load_quantized,
    quantize_model,
    save_quantized,
)
from compass.quant.io import load_quant_config


def exported(quant: Path, work: Path) -> tuple[CompassModel, dict]:
    """Export in the AWQ layout, dequantize it to a float HF dir, import that back."""
    from safetensors.torch import load_file, save_file

    out = export_hf(quant, work / "awq", dtype="float32")
    t = load_file(str(out / "model.safetensors"))
    linears = {k.removesuffix(".qweight") for k in t if k.endswith(".qweight")}
    floats = {k: v for k, v in t.items() if not k.endswith((".qweight", ".qzeros", ".scales"))}
    for n in linears:
        floats[f"{n}.weight"] = dequantize_awq(
            t[f"{n}.qweight"], t[f"{n}.qzeros"], t[f"{n}.scales"]
        )
    (work / "float").mkdir()
    save_file(floats, str(work / "float" / "model.safetensors"))
    config = json.loads((out / "config.json").read_text())
    config.pop("quantization_config")
    (work / "float" / "config.json").write_text(json.dumps(config))
    import_hf(work / "float", work / "compass")
    return load_model(work / "compass").eval(), json.loads((out / REPORT).read_text())["summary"]


@torch.no_grad()
def evaluate(model: CompassModel, val: torch.Tensor, batch: int = 8) -> tuple[float, float, list]:
    nll, hit, n, logits = 0.0, 0, 0, []
    for b in range(0, len(val), batch):
        x = val[b : b + batch]
        out = model(x[:, :-1]).logits_BTV.float()
        logits.append(out)
        nll += float(F.cross_entropy(out.flatten(0, 1), x[:, 1:].flatten(), reduction="sum"))
        hit += int((out.argmax(-1) == x[:, 1:]).sum())
        n += x[:, 1:].numel()
    return math.exp(nll / n), hit / n, logits


def kl_vs(logits: list, ref_logits: list) -> float:
    """Mean KL(reference || model) per token, the quantization-error measure of llama.cpp."""
    total, n = 0.0, 0
    for a, b in zip(logits, ref_logits, strict=True):
        lp, lq = F.log_softmax(b, -1), F.log_softmax(a, -1)
        total += float((lp.exp() * (lp - lq)).sum())
        n += a.shape[0] * a.shape[1]
    return total / n


def _counts(s: dict) -> str:
    return (
        f"{s['awq_linears_exact']} linears exact (max error {s['awq_exact_max_rel_err']:.3g} of "
        f"a weight's max |w|), {s['awq_linears_requantized']} re-quantized (max error "
        f"{s['awq_requantized_max_rel_err']:.3g})"
    )


def _ckpt_setup(args, tmp: Path) -> tuple[CompassModel, dict, torch.Tensor, str]:
    """The pipeline's checkpoints; rtn-int4 of the float one is made here."""
    stream = np.memmap(Path(args.tokens) / "train.tokens.bin", dtype=np.uint32, mode="r")
    starts = np.linspace(0, len(stream) - args.seq - 2, args.n).astype(np.int64)
    val = torch.tensor(np.stack([stream[s : s + args.seq + 1] for s in starts]).astype(np.int64))
    rtn = load_model(args.float).eval()
    group = load_quant_config(args.quant).group_size
    save_quantized(quantize_model(rtn, QuantConfig(method="rtn-int4", group_size=group)), tmp / "r")
    quants = {"awq-int4": Path(args.quant)}
    if args.fold:
        quants["awq-int4 awq_fold"] = Path(args.fold)
    quants["rtn-int4"] = tmp / "r"
    desc = f"{args.n} windows × {args.seq} tokens of the train shard (AWQ calibrated on val)"
    return load_model(args.float).eval(), quants, val, desc


def _byte_setup(tmp: Path) -> tuple[CompassModel, dict, torch.Tensor, str]:
    """bench/quant_quality.py's byte-level tiny model and text, all three quantized here (g32)."""
    import quant_quality as qq

    ckpt = qq.CACHE / "tiny_bytes_500"
    if not (ckpt / "model.safetensors").exists():
        raise SystemExit(f"{ckpt} is missing: run `.venv/bin/python bench/quant_quality.py` first")
    model = load_model(ckpt).eval()
    calib = qq.windows(qq.byte_stream(seed=1, n_docs=2000), 64, 128, seed=321)[:, :-1]
    val = qq.windows(qq.byte_stream(seed=7, n_docs=2000), 64, 128, seed=123)
    quants = {}
    for name, cfg in (
        ("awq-int4", QuantConfig(method="awq-int4", group_size=32)),
        ("awq-int4 awq_fold", QuantConfig(method="awq-int4", group_size=32, awq_fold=True)),
        ("rtn-int4", QuantConfig(method="rtn-int4", group_size=32)),
    ):
        quants[name] = save_quantized(
            quantize_model(copy.deepcopy(model), cfg, calib), tmp / name.replace(" ", "_")
        )
    return model, quants, val, f"{ckpt} (byte tokens); 64 held-out windows × 128 tokens"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--float", help="the float checkpoint that was quantized")
    ap.add_argument("--quant", help="its awq-int4 checkpoint")
    ap.add_argument("--tokens", help="token shard dir (train.tokens.bin)")
    ap.add_argument("--fold", help="an awq-int4 checkpoint of --float made with quant.awq_fold")
    ap.add_argument(
        "--byte-model",
        action="store_true",
        help="instead use bench/quant_quality.py's better-trained byte-level model",
    )
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--out", default="bench/results/awq_export_quality.md")
    args = ap.parse_args()
    if not args.byte_model and not (args.float and args.quant and args.tokens):
        ap.error("pass --float, --quant and --tokens, or --byte-model")
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the shared 2-core box runs many small matmuls faster on one
    models, notes = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        setup = _byte_setup if args.byte_model else _ckpt_setup
        float_model, quants, val, desc = (
            setup(Path(tmp)) if args.byte_model else setup(args, Path(tmp))
        )
        models["float32 (source)"] = float_model
        for name, qdir in quants.items():
            models[name] = dequantized_model(load_quantized(qdir))
            models[f"{name} → AWQ-layout export"], summary = exported(qdir, Path(tmp) / f"x{name}")
            notes.append(f"{name} export: {_counts(summary)}")
    rows = {name: evaluate(m, val) for name, m in models.items()}
    base_ppl, _, base_logits = rows["awq-int4"]
    float_logits = rows["float32 (source)"][2]
    command = " ".join(sys.argv[1:])
    lines = [
        "# AWQ-layout export: quality vs our awq-int4 model (the baseline)",
        "",
        f"- machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s); "
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `.venv/bin/python bench/awq_export_quality.py {command}`",
        f"- model and held-out text: {desc}",
        *[f"- {n}" for n in notes],
        "",
        "| model | perplexity | ratio vs baseline | next-token acc | KL vs float32 (nats/token) "
        "| max |Δlogit| vs baseline |",
        "|---|---|---|---|---|---|",
    ]
    for name, (ppl, acc, logits) in rows.items():
        diff = max(float((a - b).abs().max()) for a, b in zip(logits, base_logits, strict=True))
        kl = kl_vs(logits, float_logits)
        lines.append(
            f"| {name} | {ppl:.4f} | {ppl / base_ppl:.4f} | {acc:.4f} | {kl:.2e} | {diff:.3g} |"
        )
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
