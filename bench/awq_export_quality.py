"""What the AWQ-layout export (``compass export hf`` of an awq-int4 checkpoint) costs in quality.

Our AWQ keeps one input scale per weight; the AutoAWQ format has none, so the export folds the
scales it can (down projections, o_proj when heads agree) and re-quantizes the rest round-to-nearest
(``compass/export/awq.py``). Baseline: our awq-int4 model itself, evaluated in the same run, next to
the float model it came from, a plain round-to-nearest INT4 (rtn-int4) of it, and (``--fold``)
an awq-int4 checkpoint quantized with ``quant.awq_fold=true``, whose export is code for code. Every model runs
in float32 on its dequantized weights (the export's through ``awq_layout.dequantize_awq``), so the
rows differ only by their weights. Held-out windows come from the train token shard (AWQ
calibrated on the val split).

    .venv/bin/python bench/awq_export_quality.py --float runs/tiny/dpo/ckpt \\
        --quant runs/tiny/quantize/awq-int4 --tokens runs/tiny/tokenize/shards [--fold QDIR]

with QDIR from ``compass quantize runs/tiny/dpo/ckpt --method awq-int4 --recipe tiny
--calib runs/tiny/tokenize/shards --quant.awq_fold=true --out QDIR``.
"""

from __future__ import annotations

import argparse
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

from compass.export.awq import REPORT
from compass.export.awq_layout import dequantize_awq
from compass.export.hf import export_hf, import_hf
from compass.model.io import load_model
from compass.model.transformer import CompassModel
from compass.quant import QuantConfig, load_quantized, quantize_model
from compass.quant.io import load_quant_config
from compass.quant.weights import QuantWeight


def dequantized(q: CompassModel) -> CompassModel:
    f = CompassModel(q.config)
    state = {k: v for k, v in q.state_dict().items() if k in f.state_dict()}
    for name, mod in q.named_modules():
        if isinstance(getattr(mod, "weight", None), QuantWeight):
            state[f"{name}.weight"] = mod.weight.dequantize()
    for i, layer in enumerate(q.layers):
        for part in ("gate_up_proj", "down_proj"):
            state[f"layers.{i}.moe.experts.{part}"] = getattr(layer.moe.experts, part).dequantize()
    state["embed.weight"] = q.embed(torch.arange(q.config.vocab_size))
    f.load_state_dict(state)
    return f.eval()


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--float", required=True, help="the float checkpoint that was quantized")
    ap.add_argument("--quant", required=True, help="its awq-int4 checkpoint")
    ap.add_argument("--tokens", required=True, help="token shard dir (train.tokens.bin)")
    ap.add_argument("--fold", help="an awq-int4 checkpoint of --float made with quant.awq_fold")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--out", default="bench/results/awq_export_quality.md")
    args = ap.parse_args()
    torch.manual_seed(0)
    stream = np.memmap(Path(args.tokens) / "train.tokens.bin", dtype=np.uint32, mode="r")
    starts = np.linspace(0, len(stream) - args.seq - 2, args.n).astype(np.int64)
    val = torch.tensor(np.stack([stream[s : s + args.seq + 1] for s in starts]).astype(np.int64))
    float_model = load_model(args.float).eval()
    rtn = load_model(args.float).eval()
    group = load_quant_config(args.quant).group_size
    quantize_model(rtn, QuantConfig(method="rtn-int4", group_size=group))
    models = {
        "float32 (source)": float_model,
        "awq-int4, ours (baseline)": dequantized(load_quantized(args.quant)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        models["awq-int4, AWQ-layout export"], summary = exported(Path(args.quant), Path(tmp))
        export_s = time.time() - t0
    notes = [f"export: {_counts(summary)}"]
    if args.fold:
        models["awq-int4 awq_fold"] = dequantized(load_quantized(args.fold))
        with tempfile.TemporaryDirectory() as tmp:
            models["awq-int4 awq_fold, AWQ-layout export"], fold = exported(
                Path(args.fold), Path(tmp)
            )
        notes.append(f"awq_fold export: {_counts(fold)}")
    models["rtn-int4 of the source"] = dequantized(rtn)
    rows = {name: evaluate(m, val) for name, m in models.items()}
    base_ppl, _, base_logits = rows["awq-int4, ours (baseline)"]
    float_logits = rows["float32 (source)"][2]
    lines = [
        "# AWQ-layout export: quality vs our awq-int4 model", "",
        f"- machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads; date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `.venv/bin/python bench/awq_export_quality.py --float {args.float} "
        f"--quant {args.quant} --tokens {args.tokens}"
        + (f" --fold {args.fold}`" if args.fold else "`"),
        f"- held-out: {args.n} windows × {args.seq} tokens of the train shard; export took "
        f"{export_s:.1f} s",
        *[f"- {n}" for n in notes], "",
        "| model | perplexity | ratio vs baseline | next-token acc | KL vs float32 (nats/token) "
        "| max |Δlogit| vs baseline |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
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
