"""``compass plan``: memory, communication and time per GPU for a recipe on N GPUs.

One layout (``--layout pp=4,ep=8``) is planned in full; without one, every supported layout of
that many GPUs is planned and those that fit are ranked by tokens/s. The activation
checkpointing mode is the lightest that fits (none, then selective, then full), unless given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from compass.config import ConfigError
from compass.distributed.layout import SUPPORTED, ParallelConfig
from compass.model.config import ModelConfig
from compass.plan.memory import activation_bytes, state_bytes
from compass.plan.throughput import BF16, Hardware, comm_bytes, step_seconds

GB = 1e9
RECOMPUTE = {"none": 0.0, "selective": 0.3, "full": 1.0}  # extra forwards per forward


@dataclass
class Workload:
    """What the step runs: the recipe's main pretraining stage, and the tokens to train."""

    micro_batch: int
    seq_len: int
    global_batch: int
    token_budgets: dict[str, float] = field(default_factory=dict)  # stage name: tokens


@dataclass
class Plan:
    layout: ParallelConfig
    checkpoint: str
    n_micro: int
    params_gb: float
    grads_gb: float
    optim_gb: float
    gathered_gb: float
    act_gb: dict[str, float]  # per micro-batch, by checkpointing mode
    in_flight: int  # micro-batches whose activations are alive at once (pipeline)
    total_gb: float
    fits: bool
    comm_gb: dict[str, float]
    step_s: float
    parts_s: dict
    tokens_per_s: float
    days: dict[str, float]


def in_flight(pc: ParallelConfig, n_micro: int) -> int:
    """Micro-batches whose activations the first rank holds: GPipe every one, 1F1B at most pp
    (interleaved 1F1B about the same: pp·v chunks of 1/v of the rank's layers, plus a
    warm-up share the plan leaves out)."""
    if pc.pp == 1:
        return 1
    return n_micro if pc.pp_schedule == "gpipe" else min(pc.pp, n_micro)


def plan_layout(
    m: ModelConfig,
    pc: ParallelConfig,
    work: Workload,
    hw: Hardware,
    checkpoint: str | None = None,
    gpus: int | None = None,
) -> Plan:
    per_step = work.micro_batch * pc.data_parallel
    if work.global_batch % per_step:
        raise ConfigError(
            f"global batch {work.global_batch} is not a multiple of micro-batch "
            f"{work.micro_batch} × data-parallel {pc.data_parallel}"
        )
    n_micro = work.global_batch // per_step
    pc.check(m, work.seq_len, gpus or pc.world_size, n_micro)
    st = state_bytes(m, pc)
    acts = {
        mode: activation_bytes(m, work.micro_batch, work.seq_len, pc, mode, BF16) / GB
        for mode in RECOMPUTE
    }
    fixed = (st.params + st.grads + st.optim + st.gathered_bf16) / GB + hw.reserve_gb
    live = in_flight(pc, n_micro)
    modes = [checkpoint] if checkpoint else list(RECOMPUTE)
    mode = next((c for c in modes if fixed + live * acts[c] <= hw.memory_gb), modes[-1])
    total = fixed + live * acts[mode]
    pc = replace(pc, activation_checkpoint=mode)
    t = step_seconds(m, pc, work.micro_batch, work.seq_len, n_micro, hw, RECOMPUTE[mode])
    tps = work.global_batch * work.seq_len / t["total"]
    # per-token time taken as the main stage's (a larger batch only shrinks the bubble)
    days = {name: tokens / tps / 86400 for name, tokens in work.token_budgets.items()}
    comm = step_comm_gb(m, pc, work, n_micro)
    return Plan(
        pc,
        mode,
        n_micro,
        st.params / GB,
        st.grads / GB,
        st.optim / GB,
        st.gathered_bf16 / GB,
        acts,
        live,
        total,
        total <= hw.memory_gb,
        comm,
        t["total"],
        t,
        tps,
        days,
    )


def step_comm_gb(m: ModelConfig, pc: ParallelConfig, work: Workload, n_micro: int):
    return {
        d: b / GB for d, b in comm_bytes(m, pc, work.micro_batch, work.seq_len, n_micro).items()
    }


def candidate_layouts(gpus: int, m: ModelConfig, seq_len: int) -> list[ParallelConfig]:
    """Every supported composition of ``gpus`` whose sizes divide what they split."""
    sizes = [d for d in range(1, gpus + 1) if gpus % d == 0]
    out = []
    for dp in sizes:
        for ep in sizes:
            for pp in sizes:
                for cp in sizes:
                    pc = ParallelConfig(dp_shard=dp, ep=ep, pp=pp, cp=cp)
                    if (
                        pc.world_size == gpus
                        and pc.active() in SUPPORTED
                        and m.n_routed_experts % ep == 0
                        and pp <= m.n_layers
                        and seq_len % cp == 0
                    ):
                        out.append(pc)
    return out


def rank_layouts(m: ModelConfig, gpus: int, work: Workload, hw: Hardware) -> list[Plan]:
    """Plans of every candidate layout that fits, fastest first."""
    plans = []
    for pc in candidate_layouts(gpus, m, work.seq_len):
        try:
            p = plan_layout(m, pc, work, hw)
        except ConfigError:
            continue
        if p.fits:
            plans.append(p)
    return sorted(plans, key=lambda p: -p.tokens_per_s)
