"""Engine throughput and latency vs transformers ``generate`` (report Fig. 15/16, Table 4 analogue).

For each concurrency c, c requests with 128-token prompts arrive together and each generates
64 tokens (greedy, EOS ignored). Systems, on the same weights:
- ``compass``: our engine (continuous batching, slot KV cache), requests added at once.
- ``hf-batched``: transformers ``generate`` on the exported Qwen2-MoE checkpoint, all c prompts
  in one static batch — the best case for it (equal lengths, simultaneous arrival).
- ``hf-sequential``: the same ``generate`` one request at a time, as a server without a batching
  engine serves concurrent clients; latency includes the queueing behind earlier requests.
- ``vllm``: vLLM's CPU backend on the exported checkpoint, in .venv-vllm (``engine_vllm_glue.py``;
  on when that venv exists, see ``--vllm``).
Output tokens/s = all generated tokens / wall time; latency = finish - arrival, averaged.
Prints the ratios and writes bench/results/engine.md and engine.png.

    .venv/bin/python bench/engine.py            # a few minutes on 2 CPU cores
    python3 bench/engine.py --device cuda --dtype bfloat16 --recipe small --no-vllm \
        --quant fp8 --out bench/results/engine_gpu.md      # on a GPU (bench/gpu_check.sh)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import engine_vllm_glue as vllm_glue

from compass.inference import Engine, SamplingParams
from compass.model.io import save_model
from compass.model.transformer import CompassModel
from compass.recipes import get_recipe

RESULTS = Path(__file__).parent / "results"


def build_models(recipe: str, tmp: Path, device: str = "cpu", dtype=torch.float32):
    """Our model (random init: only speed matters) and the HF model from its export, both on
    ``device`` in ``dtype`` (HF with its default attention and experts implementations)."""
    from transformers import AutoModelForCausalLM

    model = CompassModel(get_recipe(recipe).model)
    model.init_weights(0)
    model.eval()
    save_model(model, tmp / "ckpt")
    try:
        from compass.export.hf import export_hf

        export_hf(tmp / "ckpt", tmp / "hf")
        hf = AutoModelForCausalLM.from_pretrained(tmp / "hf", dtype=dtype)
        source = "compass.export.hf (exported checkpoint)"
    except ImportError:
        hf, source = _random_hf_like(model.config), "random Qwen2MoeConfig of the same shape"
    hf_impl = getattr(hf.config, "_experts_implementation", None)
    attn = getattr(hf.config, "_attn_implementation", None)
    source += f"; HF experts={hf_impl}, attention={attn}"
    return model.to(device, dtype), hf.to(device, dtype).eval(), source


def _sync() -> None:
    """Wall-clock timings must include the GPU work queued so far."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _random_hf_like(cfg):
    from transformers import Qwen2MoeConfig, Qwen2MoeForCausalLM

    hf_cfg = Qwen2MoeConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_kv_heads,
        moe_intermediate_size=cfg.expert_dim,
        shared_expert_intermediate_size=cfg.n_shared_experts * cfg.expert_dim,
        num_experts=cfg.n_routed_experts,
        num_experts_per_tok=cfg.top_k,
        max_position_embeddings=cfg.max_seq_len,
        norm_topk_prob=False,
    )
    return Qwen2MoeForCausalLM(hf_cfg)


def run_compass(model, prompts: list[list[int]], new: int) -> tuple[float, float, list]:
    engine = Engine(model, max_batch=max(64, len(prompts)), max_seq_len=len(prompts[0]) + new)
    params = SamplingParams(temperature=0, max_tokens=new, ignore_eos=True)
    t0 = time.perf_counter()
    outs = engine.generate(prompts, params)
    wall = time.perf_counter() - t0
    return wall, sum(o.latency_s for o in outs) / len(outs), [o.token_ids for o in outs]


@torch.inference_mode()
def _hf_generate(hf, ids_BT: torch.Tensor, new: int) -> torch.Tensor:
    ids_BT = ids_BT.to(hf.device)
    out = hf.generate(
        ids_BT,
        attention_mask=torch.ones_like(ids_BT),
        max_new_tokens=new,
        min_new_tokens=new,
        do_sample=False,
        pad_token_id=0,
    )
    return out[:, ids_BT.shape[1] :]


def run_hf_batched(hf, prompts: list[list[int]], new: int) -> tuple[float, float, list]:
    t0 = time.perf_counter()
    out = _hf_generate(hf, torch.tensor(prompts), new)
    _sync()
    wall = time.perf_counter() - t0
    return wall, wall, out.tolist()


def run_hf_sequential(hf, prompts: list[list[int]], new: int) -> tuple[float, float, list]:
    t0 = time.perf_counter()
    latencies, outs = [], []
    for p in prompts:
        outs.append(_hf_generate(hf, torch.tensor([p]), new)[0].tolist())
        latencies.append(time.perf_counter() - t0)  # every request arrived at t0
    return time.perf_counter() - t0, sum(latencies) / len(latencies), outs


SYSTEMS = {"compass": run_compass, "hf-batched": run_hf_batched, "hf-sequential": run_hf_sequential}


def quantized_models(model, methods: list[str], prompt_len: int) -> dict:
    """``compass-<method>`` -> a quantized copy (compass.quant; AWQ calibrates on random ids,
    which is fine for speed). Quantized on the CPU in float32, then moved to the model's device;
    the float parts (LM head, norms, router) take the model's dtype."""
    if not methods:
        return {}
    import copy

    from compass.quant import QuantConfig, quantize_model

    ref = model.lm_head.weight
    calib = torch.randint(0, model.config.vocab_size, (8, prompt_len))
    # The INT8 embedding dequantizes to float32: keep the table float for a bfloat16 model.
    embed = ref.dtype == torch.float32
    out = {}
    for m in methods:
        q = copy.deepcopy(model).to("cpu", torch.float32)
        cfg = QuantConfig(method=m, group_size=32, quantize_embedding=embed)
        quantize_model(q, cfg, calib if "awq" in m else None)
        out[f"compass-{m}"] = _float_parts_to(q, ref.device, ref.dtype).eval()
    return out


def _float_parts_to(model, device, dtype):
    """Move a quantized model; only floating-point parameters change dtype (the quantized
    buffers keep theirs, and their float32 scales stay float32)."""
    model.to(device)
    for p in model.parameters():
        if p.is_floating_point():
            p.data = p.data.to(dtype)
    return model


def make_prompts(concurrencies, prompt_len: int, vocab: int) -> dict[int, list[list[int]]]:
    gen = torch.Generator().manual_seed(0)
    return {
        c: torch.randint(0, vocab, (c, prompt_len), generator=gen).tolist() for c in concurrencies
    }


def measure(systems: dict, prompts_by_c: dict, new, repeats: int, seq_max_c: int) -> list[dict]:
    """``systems``: name -> (run function, model). Best of ``repeats`` interleaved runs (the box
    is shared, so the minimum is the least disturbed figure); the sequential baseline runs once,
    and only up to ``seq_max_c`` requests (it is c times the c=1 figure's work, one by one)."""
    rows = []
    for c, prompts in prompts_by_c.items():
        row: dict = {"c": c}
        tokens = {}
        best: dict[str, tuple] = {}
        for rep in range(repeats):
            for name, (fn, target) in systems.items():
                if name == "hf-sequential" and (rep or c > seq_max_c):
                    continue
                wall, lat, tokens[name] = fn(target, prompts, new)
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, lat)
        for name, (wall, lat) in best.items():
            row[name] = {"tok_s": c * new / wall, "latency_s": lat, "wall_s": wall}
            print(f"c={c:3d} {name:14s} {c * new / wall:8.1f} tok/s  latency {lat:6.2f}s")
        same = sum(a == b for a, b in zip(tokens["compass"], tokens["hf-batched"]))
        row["greedy_match"] = f"{same}/{c}"
        row["compass_ids"] = tokens["compass"]
        rows.append(row)
    return rows


def mixed_workload(model, hf, c: int, prompt_len: int, vocab: int) -> dict:
    """2c requests wanting 8-128 new tokens each (mean ~68), at most c in flight. The engine
    refills a slot as soon as a request finishes; static ``generate`` batches of c must run
    until their longest request is done (the case continuous batching exists for)."""
    gen = torch.Generator().manual_seed(1)
    prompts = torch.randint(0, vocab, (2 * c, prompt_len), generator=gen).tolist()
    wants = torch.randint(8, 129, (2 * c,), generator=gen).tolist()
    useful = sum(wants)
    engine = Engine(model, max_batch=c, max_seq_len=prompt_len + 128)
    params = [SamplingParams(temperature=0, max_tokens=n, ignore_eos=True) for n in wants]
    t0 = time.perf_counter()
    outs = engine.generate(prompts, params)
    ours_wall = time.perf_counter() - t0
    ours_lat = sum(o.latency_s for o in outs) / len(outs)
    t0, hf_lat = time.perf_counter(), []
    for b in range(0, 2 * c, c):
        _hf_generate(hf, torch.tensor(prompts[b : b + c]), max(wants[b : b + c]))
        hf_lat += [time.perf_counter() - t0] * c
    hf_wall = time.perf_counter() - t0
    res = {
        "c": c,
        "requests": 2 * c,
        "useful_tokens": useful,
        "compass": {"tok_s": useful / ours_wall, "latency_s": ours_lat},
        "hf-batched": {"tok_s": useful / hf_wall, "latency_s": sum(hf_lat) / len(hf_lat)},
    }
    print(
        f"mixed c={c}: compass {res['compass']['tok_s']:.0f} tok/s, hf-batched "
        f"{res['hf-batched']['tok_s']:.0f} tok/s -> {hf_wall / ours_wall:.2f}x"
    )
    return res


def warm_up(model, hf, prompt_len, vocab) -> None:
    prompts = torch.randint(0, vocab, (2, prompt_len)).tolist()
    run_compass(model, prompts, 4)
    run_hf_batched(hf, prompts, 4)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name in [k for k in rows[0] if isinstance(rows[0][k], dict)]:
        have = [r for r in rows if name in r]  # hf-sequential stops at --sequential-max-c
        cs = [r["c"] for r in have]
        ax1.plot(cs, [r[name]["tok_s"] for r in have], marker="o", label=name)
        ax2.plot(cs, [r[name]["latency_s"] for r in have], marker="o", label=name)
    for ax, title in ((ax1, "output tokens/s"), (ax2, "mean request latency (s)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrency")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    ax2.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_report(rows, args, source: str, path: Path, mixed: dict | None, extra=()) -> None:
    load = os.getloadavg()
    lines = [
        "# Engine throughput: compass engine vs transformers generate",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs; "
        f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}), "
        f"torch {torch.__version__}, {args.threads} intra-op thread(s), {args.device} "
        f"{args.dtype}{' ' + torch.cuda.get_device_name() if args.device == 'cuda' else ''}; "
        f"compass and hf-batched: best of {args.repeats} interleaved runs",
        f"- model: recipe `{args.recipe}`, random init; HF side: {source}",
        f"- workload: {args.prompt_len}-token prompts, {args.new_tokens} new tokens, greedy, "
        "EOS ignored; all c requests arrive at once",
        f"- command: `.venv/bin/python {' '.join(sys.argv)}`",
        "",
        "| c | compass tok/s | hf-batched tok/s | hf-sequential tok/s | ×batched | ×sequential "
        "| compass lat s | hf-batched lat s | hf-seq lat s | greedy = HF |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours, hb = r["compass"], r["hf-batched"]
        hs = r.get("hf-sequential")  # skipped above --sequential-max-c
        seq = ("—", "—", "—")
        if hs:
            seq = (
                f"{hs['tok_s']:.0f}",
                f"{ours['tok_s'] / hs['tok_s']:.2f}",
                f"{hs['latency_s']:.2f}",
            )
        lines.append(
            f"| {r['c']} | {ours['tok_s']:.0f} | {hb['tok_s']:.0f} | {seq[0]} "
            f"| {ours['tok_s'] / hb['tok_s']:.2f} | {seq[1]} "
            f"| {ours['latency_s']:.2f} | {hb['latency_s']:.2f} | {seq[2]} "
            f"| {r['greedy_match']} |"
        )
    lines += list(extra)
    quant = [k for k in rows[0] if k.startswith("compass-")]
    if quant:
        lines += [
            "",
            "Quantized models (compass.quant) in the same engine, same workload "
            "(× the float model):",
            "",
            "| c | " + " | ".join(f"{q} tok/s | ×float" for q in quant) + " |",
            "|---|" + "---|---|" * len(quant),
        ]
        for r in rows:
            cells = [
                f"{r[q]['tok_s']:.0f} | {r[q]['tok_s'] / r['compass']['tok_s']:.2f}" for q in quant
            ]
            lines.append(f"| {r['c']} | " + " | ".join(cells) + " |")
    if mixed is not None:
        m = mixed
        lines += [
            "",
            f"Mixed lengths (continuous batching's case): {m['requests']} requests of "
            f"{args.prompt_len} prompt tokens wanting 8-128 new tokens ({m['useful_tokens']} "
            f"in all), at most {m['c']} in flight; HF runs static batches of {m['c']}, each "
            "until its longest request ends.",
            "",
            "| system | useful tok/s | mean latency s |",
            "|---|---|---|",
        ]
        for name in ("compass", "hf-batched"):
            lines.append(f"| {name} | {m[name]['tok_s']:.0f} | {m[name]['latency_s']:.2f} |")
        ratio = m["compass"]["tok_s"] / m["hf-batched"]["tok_s"]
        lines.append(f"| ratio | {ratio:.2f}x | |")
    lines += ["", "![throughput and latency](engine.png)", ""]
    path.write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--concurrency", default="1,4,16,32,64")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=64)
    # One thread: on a shared, loaded 2-core box two OpenMP threads make small ops many times
    # slower.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mixed-concurrency", type=int, default=32, help="0 skips it")
    ap.add_argument("--quant", default="int8,awq-int4", help="quantized engine runs ('' skips)")
    ap.add_argument("--repeats", type=int, default=3, help="best-of-N for the batched systems")
    ap.add_argument("--out", default=str(RESULTS / "engine.md"))
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--sequential-max-c", type=int, default=64, help="skip hf-sequential above")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    vllm_glue.add_args(ap)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    vllm = None
    with tempfile.TemporaryDirectory() as tmp:
        dtype = getattr(torch, args.dtype)
        model, hf, source = build_models(args.recipe, Path(tmp), args.device, dtype)
        vocab = model.config.vocab_size
        prompts = make_prompts(concurrencies, args.prompt_len, vocab)
        if vllm_glue.enabled(args) and (Path(tmp) / "hf").is_dir():
            max_len = args.prompt_len + args.new_tokens
            vllm = vllm_glue.start(
                Path(tmp) / "hf", max(concurrencies), max_len, args.threads, args.vllm_dtype
            )
    warm_up(model, hf, args.prompt_len, vocab)
    systems = {n: (fn, model if n == "compass" else hf) for n, fn in SYSTEMS.items()}
    methods = [m for m in args.quant.split(",") if m]
    for name, q in quantized_models(model, methods, args.prompt_len).items():
        systems[name] = (run_compass, q)
    if vllm is not None:
        systems["vllm"] = (vllm, None)
    rows = measure(systems, prompts, args.new_tokens, args.repeats, args.sequential_max_c)
    if vllm is not None:
        vllm_glue.merge(rows, vllm.token_ids)
        vllm.close()
    for r in rows:
        ours, hs = r["compass"]["tok_s"], r.get("hf-sequential", {}).get("tok_s", float("nan"))
        print(
            f"c={r['c']:3d}: compass / hf-batched = {ours / r['hf-batched']['tok_s']:.2f}x, "
            f"compass / hf-sequential = {ours / hs:.2f}x"
            + (f", compass / vllm = {ours / r['vllm']['tok_s']:.2f}x" if "vllm" in r else "")
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(rows, out.with_suffix(".png"))
    mixed = None
    if args.mixed_concurrency:
        mixed = mixed_workload(model, hf, args.mixed_concurrency, args.prompt_len, vocab)
    extra = vllm_glue.report_lines(rows, vllm.meta) if vllm is not None else []
    write_report(rows, args, source, out, mixed, extra)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
