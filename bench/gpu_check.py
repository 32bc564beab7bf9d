"""The GPU paths in one short run, for a lent CUDA machine (H100/H200): numerics first, then speed.

Sections (each independent: a failure is recorded and the next one runs):
- ``env``: device, torch, and the ceilings measured here — dense bf16 and FP8 GEMM TFLOP/s.
- ``parity``: the `small` model on CUDA vs the same weights on the CPU (float32 logits); bf16
  autocast vs float32 loss; the routed-expert kernels (bmm / grouped_mm vs the loop reference),
  outputs and gradients, in float32 and bfloat16.
- ``fp8``: ``FP8Weight.linear`` on the tensor cores (torch._scaled_mm, W8A8 row-wise) vs the float
  oracle on the same e4m3 values, and its speed vs a bf16 ``F.linear`` at decode and prefill rows.
- ``stages``: DPO's response log-probs and the reward model's scores on the GPU vs the CPU.
- ``train``: tokens/s and MFU of the training loop (bf16 autocast) vs transformers' Qwen2-MoE on
  the exported weights (same batch), on `small` and on two layers of the 30B-A5B shape.
- ``fsdp``: ``torchrun`` FSDP2 on NCCL (bench/gpu_fsdp_worker.py): FSDP == plain CUDA training,
  DCP resume == uninterrupted, bf16 mixed precision near float32.

    python3 bench/gpu_check.py --shards runs/tiny/tokenize/shards --out OUT   (bench/gpu_check.sh)

Writes OUT/gpu_check.json (after every section) and OUT/gpu_check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from train_throughput import compass_step, flops_per_token, hf_step, interleaved_step_s

from compass.model.transformer import CompassModel
from compass.recipes import get_recipe

HERE = Path(__file__).parent
# ``--smoke`` runs every section on the CPU at toy sizes, to catch mistakes before GPU time.
DEV, SMOKE = "cuda", False


def cuda_time(fn, reps: int = 10, warmup: int = 3) -> float:
    """Mean seconds per call, by CUDA events around ``reps`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    if DEV != "cuda":
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t) / reps
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / reps


def median_step_s(step, n: int) -> float:
    """Median wall time of ``step()`` over ``n`` calls after a warm-up (train_throughput's
    timer)."""
    return statistics.median(interleaved_step_s({"step": step}, n)["step"])


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp(min=1e-12))


# ---- sections ------------------------------------------------------------------------------


def section_env(res: dict) -> None:
    from compass.quant.weights import fp8_quantize_rows

    n = 256 if SMOKE else 8192
    a = torch.randn(n, n, device=DEV, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=DEV, dtype=torch.bfloat16)
    t_bf16 = cuda_time(lambda: a @ b)
    qa, sa = fp8_quantize_rows(a)
    qb, sb = fp8_quantize_rows(b)
    mm = lambda: torch._scaled_mm(qa, qb.t(), sa, sb.view(1, -1), out_dtype=torch.bfloat16)  # noqa: E731
    t_fp8 = cuda_time(mm)
    res.update(
        device=torch.cuda.get_device_name() if DEV == "cuda" else "cpu (smoke)",
        capability=list(torch.cuda.get_device_capability()) if DEV == "cuda" else None,
        torch=torch.__version__,
        bf16_tflops=2 * n**3 / t_bf16 / 1e12,
        fp8_tflops=2 * n**3 / t_fp8 / 1e12,
    )


def _small_model(dtype=torch.float32) -> CompassModel:
    model = CompassModel(get_recipe("tiny" if SMOKE else "small").model)
    model.init_weights(0)
    return model.to(dtype)


def section_parity(res: dict) -> None:
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 parity means real float32 GEMMs
    model = _small_model()
    ids = torch.randint(
        0, model.config.vocab_size, (2, 256), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        cpu = model(ids).logits_BTV
        model.to(DEV)
        gpu = model(ids.to(DEV)).logits_BTV
        res["cuda_vs_cpu_fp32_logits_rel"] = rel_err(gpu.cpu(), cpu)
        labels = ids.to(DEV)[:, 1:].flatten()
        fp32_loss = F.cross_entropy(gpu[:, :-1].flatten(0, 1).float(), labels)
        with torch.autocast(DEV, torch.bfloat16):
            bf16 = model(ids.to(DEV)).logits_BTV
        bf16_loss = F.cross_entropy(bf16[:, :-1].flatten(0, 1).float(), labels)
    res["fp32_loss"], res["bf16_autocast_loss"] = float(fp32_loss), float(bf16_loss)
    res["experts"] = _expert_kernels(model)


def _expert_kernels(model: CompassModel) -> dict:
    """Every routed-expert kernel against the loop reference on one layer: output and input /
    weight gradients, on a routing that is deliberately skewed (grouped_mm's case)."""
    experts = model.layers[0].moe.experts
    cfg = model.config
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        gen = torch.Generator(device=DEV).manual_seed(1)
        x = torch.randn(512, cfg.d_model, device=DEV, dtype=dtype, generator=gen)
        logits = torch.randn(512, cfg.n_routed_experts, device=DEV, generator=gen)
        logits[:, :3] += 2.0  # skew: three busy experts
        w, e = torch.softmax(logits, -1).topk(cfg.top_k, dim=-1)
        results = {}
        for impl in ("loop", "bmm", "grouped_mm"):
            experts.impl = impl
            xi = x.clone().requires_grad_(True)
            try:
                with torch.autocast(DEV, dtype, enabled=dtype != torch.float32):
                    y = experts(xi, w.to(dtype), e)
                y.float().square().sum().backward()
            except RuntimeError as exc:  # e.g. a kernel this GPU or build lacks
                out[f"{impl}_{str(dtype)[6:]}"] = {"error": str(exc)[:300]}
                continue
            finally:
                experts.impl = "auto"
            results[impl] = (y.detach(), xi.grad, experts.down_proj.grad.clone())
            experts.zero_grad(set_to_none=True)
        ref = results["loop"]
        for impl in [i for i in ("bmm", "grouped_mm") if i in results]:
            got = results[impl]
            out[f"{impl}_{str(dtype)[6:]}"] = {
                "y_rel": rel_err(got[0], ref[0]),
                "dx_rel": rel_err(got[1], ref[1]),
                "dw_rel": rel_err(got[2], ref[2]),
            }
    return out


def section_fp8(res: dict) -> None:
    from compass.quant.weights import FP8Weight, fp8_kernel_ok, fp8_quantize_rows

    torch.manual_seed(0)
    n, k = (256, 128) if SMOKE else (8192, 3072)  # the 30B-A5B shared expert's gate+up rows
    w = torch.randn(n, k, device=DEV) * 0.02
    wb = w.to(torch.bfloat16)
    qw = FP8Weight.from_float(w)
    rows = {}
    for m in (16, 256, 4096):
        x = torch.randn(m, k, device=DEV, dtype=torch.bfloat16)
        if DEV == "cuda":
            assert fp8_kernel_ok(x, qw.shape), "the FP8 tensor-core path is not taken on this GPU"
        xq, sx = fp8_quantize_rows(x)
        oracle = (xq.float() * sx) @ (qw.qweight.float() * qw.scales[:, None]).t()
        y = qw.linear(x)
        t_fp8 = cuda_time(lambda x=x: qw.linear(x))
        t_bf16 = cuda_time(lambda x=x: F.linear(x, wb))
        rows[m] = {
            "rel_vs_oracle": rel_err(y, oracle),
            "rel_vs_float": rel_err(y, x.float() @ w.t()),
            "fp8_us": t_fp8 * 1e6,
            "bf16_us": t_bf16 * 1e6,
            "speedup": t_bf16 / t_fp8,
        }
    res["linear_8192x3072"] = rows


def section_train(res: dict, peak: float) -> None:
    from transformers import AutoModelForCausalLM

    from compass.export.hf import export_hf
    from compass.model.io import save_model

    rows = []
    batch, seq, steps = (2, 64, 3) if SMOKE else (8, 2048, 6)
    model = _small_model()
    fpt = flops_per_token(model, seq)
    with tempfile.TemporaryDirectory() as d:
        save_model(model, Path(d) / "ckpt")
        export_hf(Path(d) / "ckpt", Path(d) / "hf")
        hf = AutoModelForCausalLM.from_pretrained(Path(d) / "hf", dtype=torch.float32).to(DEV)
    with tempfile.TemporaryDirectory() as d:
        t_ours = median_step_s(compass_step(model, batch, seq, steps, Path(d)), steps)
    del model
    t_hf = median_step_s(hf_step(hf.train(), hf.config.vocab_size, batch, seq), steps)
    impl = getattr(hf.config, "_experts_implementation", None)
    del hf
    if DEV == "cuda":
        torch.cuda.empty_cache()
    tok = batch * seq
    rows.append(
        {
            "model": "small",
            "batch": f"{batch}x{seq}",
            "compass_tok_s": tok / t_ours,
            "hf_tok_s": tok / t_hf,
            "speedup": t_hf / t_ours,
            "hf_experts": impl,
            "compass_mfu": tok / t_ours * fpt / peak,
            "hf_mfu": tok / t_hf * fpt / peak,
        }
    )
    res["rows"] = rows
    # two layers of the report's 30B-A5B (d 3072, 48 experts top-4, I 2048, vocab 180k)
    cfg = get_recipe("tiny" if SMOKE else "compass_v2_30b_a5b").model
    cfg.n_layers = 2
    with torch.device(DEV):
        big = CompassModel(cfg)
    with torch.no_grad():
        for name, p in big.named_parameters():
            p.fill_(1.0) if name.endswith("norm.weight") else p.normal_(0.0, 0.02)
    batch, seq = (2, 64) if SMOKE else (2, 4096)
    with tempfile.TemporaryDirectory() as d:
        t = median_step_s(compass_step(big, batch, seq, 4, Path(d)), 4)
    fpt = flops_per_token(big, seq)
    rows.append(
        {
            "model": "30B-A5B shape, 2 layers",
            "batch": f"{batch}x{seq}",
            "compass_tok_s": batch * seq / t,
            "compass_mfu": batch * seq / t * fpt / peak,
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if DEV == "cuda" else 0,
        }
    )


def section_fsdp(res: dict, shards: Path, out: Path) -> None:
    """1-rank (or N-rank) FSDP2 on NCCL vs plain CUDA training of the same tiny stage."""
    from gpu_fsdp_worker import recipe

    from compass.distributed.env import DistInfo
    from compass.pretrain.run import run_stage

    steps, split = 12, 6
    work = Path(tempfile.mkdtemp(prefix="fsdp_runs_"))  # not under OUT: only reports travel back
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(max(torch.cuda.device_count(), 1)),
        str(HERE / "gpu_fsdp_worker.py"),
        str(shards),
        str(work),
        str(steps),
        str(split),
    ]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"torchrun failed:\n{proc.stderr[-3000:]}")
    dist = json.loads((work / "losses.json").read_text())
    torch.backends.cuda.matmul.allow_tf32 = False
    info = DistInfo(device=torch.device(DEV))
    plain = run_stage(recipe(steps, False), "main", shards, work / "plain", info=info)

    def worst(a: list[float], b: list[float]) -> float:
        return max(abs(x - y) / abs(y) for x, y in zip(a, b, strict=True))

    res.update(
        backend=dist["backend"],
        world_size=dist["world_size"],
        losses_fsdp=dist["full"],
        losses_plain=plain.losses,
        fsdp_vs_plain_rel=worst(dist["full"], plain.losses),
        resume_vs_full_rel=worst(dist["split"], dist["full"]),
        bf16_vs_fp32_rel=worst(dist["bf16"], dist["full"]),
        loss_first_last=[dist["full"][0], dist["full"][-1]],
    )


def section_stages(res: dict) -> None:
    """The post-training stages' own model calls (they build their batches on the CPU) on the
    GPU vs the same weights on the CPU: DPO's response log-probs and the reward model's scores."""
    import copy

    from compass.posttrain.reward.model import RewardModel
    from compass.posttrain.scoring import response_logprobs, score_sequences

    cfg = get_recipe("tiny").model
    policy = CompassModel(cfg)
    policy.init_weights(0)
    # with the likelihood term: ids 5 / 6 stand for <think> / </think> (row 1 a closed block,
    # row 2 an open one, row 0 none)
    rm = RewardModel(copy.deepcopy(policy), head_seed=0, think_ids=(5, 6), lp_scale=(5.0, 1.0))
    gen = torch.Generator().manual_seed(0)
    rows = [torch.randint(7, cfg.vocab_size, (n,), generator=gen).tolist() for n in (9, 17, 30)]
    rows[1][5], rows[1][12], rows[2][5] = 5, 6, 5
    prompts, responses = [r[:5] for r in rows], [r[5:] for r in rows]
    with torch.no_grad():
        lp_cpu = torch.tensor(response_logprobs(policy, prompts, responses))
        rm_cpu = torch.tensor(score_sequences(rm, rows, 0))
        lp_dev = torch.tensor(response_logprobs(policy.to(DEV), prompts, responses))
        rm_dev = torch.tensor(score_sequences(rm.to(DEV), rows, 0))
    res["dpo_logprobs_rel"] = rel_err(lp_dev, lp_cpu)
    res["reward_scores_abs"] = float((rm_dev - rm_cpu).abs().max())


# ---- driver --------------------------------------------------------------------------------


def write_markdown(res: dict, path: Path) -> None:
    """The figures as tables; the JSON beside it holds everything."""
    env, lines = res.get("env", {}), ["# GPU check (bench/gpu_check.py)", ""]
    lines.append(
        f"- device: {env.get('device')} (sm {env.get('capability')}), torch "
        f"{env.get('torch')}; measured dense GEMM 8192³: bf16 "
        f"{env.get('bf16_tflops', 0):.0f} TFLOP/s, FP8 e4m3 (row-wise scaled) "
        f"{env.get('fp8_tflops', 0):.0f} TFLOP/s"
    )
    lines.append(f"- command: `{' '.join(sys.argv)}`; date {time.strftime('%Y-%m-%d %H:%M')} UTC")
    for name, sec in res.items():
        if name == "env":
            continue
        lines += ["", f"## {name}", "", "```", json.dumps(sec, indent=1, default=str)[:6000], "```"]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", required=True, help="tiny shard dir (compass data tokenize)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="env,parity,fp8,stages,train,fsdp")
    ap.add_argument("--smoke", action="store_true", help="CPU, toy sizes: check the script")
    args = ap.parse_args()
    global DEV, SMOKE
    DEV, SMOKE = ("cpu", True) if args.smoke else ("cuda", False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if DEV == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: this check is for a GPU machine", file=sys.stderr)
        return 2
    res: dict = {}
    sections = {
        "env": lambda r: section_env(r),
        "parity": lambda r: section_parity(r),
        "fp8": lambda r: section_fp8(r),
        "stages": lambda r: section_stages(r),
        "train": lambda r: section_train(r, res.get("env", {}).get("bf16_tflops", 790) * 1e12),
        "fsdp": lambda r: section_fsdp(r, Path(args.shards), out),
    }
    for name in args.only.split(","):
        sec: dict = {}
        res[name] = sec
        t0 = time.time()
        try:
            sections[name](sec)
        except Exception as exc:  # record and go on: one broken path must not hide the others
            sec["error"] = f"{type(exc).__name__}: {exc}"
            sec["traceback"] = traceback.format_exc()[-2500:]
        sec["wall_s"] = round(time.time() - t0, 1)
        print(
            f"== {name} ({sec['wall_s']} s)\n{json.dumps(sec, indent=1, default=str)[:3000]}",
            flush=True,
        )
        (out / "gpu_check.json").write_text(json.dumps(res, indent=1, default=str))
        if DEV == "cuda":
            torch.cuda.empty_cache()
    write_markdown(res, out / "gpu_check.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
