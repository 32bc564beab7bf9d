"""``compass plan``: what a layout costs per GPU before anyone books GPUs.

compass plan --recipe compass_v2_30b_a5b --gpus 64 --gpu h100-80gb --layout pp=4,dp_shard=16
compass plan --recipe compass_v2_30b_a5b --gpus 64          # rank the layouts that fit
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from compass.distributed.layout import parse_layout
from compass.plan.planner import RECOMPUTE, Plan, Workload, plan_layout, rank_layouts
from compass.plan.throughput import GPUS
from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe

# The report's pretraining token budgets (§2.3): 8T in the main stage, 4T in the anneal.
REPORT_TOKENS = {"main": 8e12, "anneal": 4e12}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="memory, communication and time per GPU for a layout")
    add_recipe_args(p)
    p.add_argument("--gpus", type=int, required=True, help="number of GPUs")
    p.add_argument("--gpu", default="h100-80gb", choices=sorted(GPUS))
    p.add_argument("--layout", help="e.g. pp=4,ep=8 (dims: dp_shard, ep, pp, cp); default: rank")
    p.add_argument("--schedule", default="1f1b", choices=["1f1b", "gpipe", "interleaved"])
    p.add_argument("--checkpoint", choices=list(RECOMPUTE), help="default: lightest that fits")
    p.add_argument("--mfu", type=float, help="assumed model FLOPs utilisation (default 0.35)")
    p.add_argument("--nvlink-gbps", type=float, help="GB/s per GPU inside a node (default 450)")
    p.add_argument("--network-gbps", type=float, help="GB/s per GPU between nodes (default 50)")
    p.add_argument("--top", type=int, default=8, help="layouts listed when ranking")
    p.add_argument(
        "--stage",
        default="main",
        choices=["main", "anneal", "long"],
        help="the pretraining stage whose micro-batch, length and batch are planned",
    )
    p.set_defaults(func=_plan)


def _plan(args: argparse.Namespace) -> int:
    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    hw = GPUS[args.gpu]
    for key, field in (
        ("mfu", "mfu"),
        ("nvlink_gbps", "nvlink_gbps"),
        ("network_gbps", "network_gbps"),
    ):
        if getattr(args, key) is not None:
            hw = replace(hw, **{field: getattr(args, key)})
    st = recipe.pretrain.stage(args.stage)
    batch = st.global_batch or st.micro_batch_size * st.grad_accum * args.gpus
    # main: the report's 8T and 4T at this stage's pace; anneal/long: the stage's own steps
    budget = REPORT_TOKENS if args.stage == "main" else {args.stage: st.steps * batch * st.seq_len}
    work = Workload(st.micro_batch_size, st.seq_len, batch, budget)
    out = [
        f"{recipe.name} {args.stage} stage on {args.gpus} × {hw.name}: "
        f"micro-batch {work.micro_batch} × "
        f"{work.seq_len} tokens, global batch {work.global_batch}; assumed MFU {hw.mfu:.2f}, "
        f"NVLink {hw.nvlink_gbps:g} GB/s, network {hw.network_gbps:g} GB/s per GPU, "
        f"{hw.gpus_per_node} GPUs a node"
    ]
    if args.layout:
        pc = replace(parse_layout(args.layout), pp_schedule=args.schedule)
        out += describe(plan_layout(recipe.model, pc, work, hw, args.checkpoint, args.gpus))
    else:
        plans = rank_layouts(recipe.model, args.gpus, work, hw)
        out.append(f"{len(plans)} layouts fit; fastest first:")
        out += [summary(p) for p in plans[: args.top]]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def layout_name(p: Plan) -> str:
    dims = [
        f"{d}={getattr(p.layout, d)}"
        for d in ("dp_shard", "ep", "pp", "cp")
        if getattr(p.layout, d) > 1
    ]
    return ",".join(dims) or "single"


def summary(p: Plan) -> str:
    return (
        f"  {layout_name(p):28s} checkpoint {p.checkpoint:9s} {p.total_gb:5.1f} GB  "
        f"{p.step_s:7.2f} s/step  {p.tokens_per_s / 1e3:7.1f}k tok/s  "
        + "  ".join(f"{k} {v:.0f} d" for k, v in p.days.items())
    )


def describe(p: Plan) -> list[str]:
    acts = ", ".join(f"{k} {v:.2f}" for k, v in p.act_gb.items())
    comm = ", ".join(f"{k} {v:.1f}" for k, v in p.comm_gb.items()) or "none"
    parts = p.parts_s
    return [
        f"layout {layout_name(p)} ({p.layout.pp_schedule if p.layout.pp > 1 else 'no pipeline'}), "
        f"{p.n_micro} micro-batches per step per data replica",
        "per GPU (largest stage, first shard):",
        f"  parameters   {p.params_gb:7.2f} GB  float32 master weights",
        f"  gradients    {p.grads_gb:7.2f} GB  float32",
        f"  optimizer    {p.optim_gb:7.2f} GB  AdamW moments, float32",
        f"  gathered     {p.gathered_gb:7.2f} GB  bf16 FSDP unit ×2 (prefetch), transient",
        f"  activations  {acts} GB per micro-batch (bf16), {p.in_flight} in flight",
        f"  total        {p.total_gb:7.2f} GB with checkpoint={p.checkpoint} "
        f"({'fits' if p.fits else 'DOES NOT FIT'})",
        f"communication per step per GPU (GB): {comm}",
        f"step {p.step_s:.2f} s: compute {parts['compute']:.2f} s, bubble {parts['bubble']:.2f} s, "
        + ", ".join(f"{k} {v:.2f} s" for k, v in parts["comm"].items())
        + " (dp_shard overlaps compute: only its excess counts)",
        f"throughput {p.tokens_per_s / 1e3:.1f}k tokens/s; "
        + ", ".join(f"{k} stage {v:.0f} days" for k, v in p.days.items()),
    ]
