"""Step time of a layout from FLOPs and link speeds, and the bytes each parallel dimension moves.

Assumptions (every one a field of :class:`Hardware`, overridable from ``compass plan``):
- compute runs at ``mfu`` of the GPU's dense bf16 peak;
- a node holds ``gpus_per_node`` GPUs; a mesh dimension whose ranks fit inside one node (the
  inner dimensions are packed first: ep, then cp, dp_shard, pp) talks over NVLink, else over
  the per-GPU network link;
- FSDP's gathers and reduce-scatters and the dense gradient all-reduce overlap with compute
  (only what exceeds the compute time shows); expert all-to-alls, context K/V exchange and
  pipeline sends sit on the critical path; the pipeline bubble is (pp - 1) / (micro-batches ×
  stages per rank).

Legend: N tokens of a micro-batch on one rank, P parameters, a bytes per activation element.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.distributed.layout import DIMS, ParallelConfig
from compass.model.config import ModelConfig
from compass.plan.memory import param_shapes, stage_of

BF16, F32 = 2, 4


@dataclass
class Hardware:
    name: str = "h100-80gb"
    memory_gb: float = 80.0
    peak_tflops: float = 989.0  # dense bf16, H100 SXM
    mfu: float = 0.35
    nvlink_gbps: float = 450.0  # GB/s per GPU, one direction (NVLink 4)
    network_gbps: float = 50.0  # GB/s per GPU (400 Gb/s InfiniBand NDR)
    gpus_per_node: int = 8
    reserve_gb: float = 6.0  # CUDA context, allocator fragmentation, communication buffers


GPUS = {"h100-80gb": Hardware(), "h200-141gb": Hardware("h200-141gb", 141.0)}


def flops_per_token(m: ModelConfig, seq_len: int) -> float:
    """Training FLOPs per token: 6 × active matmul parameters + causal attention scores."""
    attn = m.d_model * (2 * m.n_heads + 2 * m.n_kv_heads) * m.head_dim  # q, k, v, o
    experts = 3 * m.d_model * m.expert_dim * (m.top_k + m.n_shared_experts)
    router = m.d_model * m.n_routed_experts
    matmul = m.n_layers * (attn + experts + router) + m.d_model * m.vocab_size
    scores = m.n_layers * m.n_heads * m.head_dim * seq_len  # QKᵀ and PV (4·S·H·d), half masked
    return 6.0 * matmul + 6.0 * scores


def link_gbps(dim: str, pc: ParallelConfig, hw: Hardware) -> float:
    """NVLink if the dimension's ranks share a node, else the network."""
    inner = 1
    for d in reversed(DIMS[DIMS.index(dim) :]):
        inner *= getattr(pc, d)
    return hw.nvlink_gbps if inner <= hw.gpus_per_node else hw.network_gbps


def stage_params(m: ModelConfig, pc: ParallelConfig) -> tuple[int, int]:
    """(dense, routed-expert) parameters of the pipeline rank holding the most."""
    per = [[0, 0] for _ in range(pc.pp)]
    for name, shape in param_shapes(m).items():
        per[stage_of(name, m, pc)][int(".experts." in name)] += shape.numel()
    return tuple(max(per, key=sum))


def comm_bytes(
    m: ModelConfig, pc: ParallelConfig, micro_batch: int, seq_len: int, n_micro: int, a: int = BF16
) -> dict[str, float]:
    """Bytes each GPU sends per optimizer step, per parallel dimension."""
    dense, routed = stage_params(m, pc)
    layers = -(-m.n_layers // pc.pp)
    n = micro_batch * seq_len // pc.cp
    out = {}
    if pc.dp_shard > 1:  # gather in bf16 for forward and backward of every micro-batch,
        local = dense + routed / pc.ep  # reduce-scatter float32 gradients once
        frac = (pc.dp_shard - 1) / pc.dp_shard
        out["dp_shard"] = frac * local * (2 * BF16 * n_micro + F32)
    if pc.ep > 1:  # token exchange, and the dense gradients all-reduced over ep
        grads = (pc.ep - 1) / pc.ep * 2 * F32 * dense / pc.dp_shard
        out["ep"] = ep_all_to_all_bytes(m, pc, micro_batch, seq_len, n_micro, a) + grads
    if pc.cp > 1:  # K and V gathered forward (and in a recompute), gradients all-reduced
        kv = 2 * micro_batch * seq_len * m.n_kv_heads * m.head_dim * a
        passes = 4 if pc.activation_checkpoint != "none" else 3
        out["cp"] = (pc.cp - 1) / pc.cp * kv * passes * layers * n_micro
    if pc.pp > 1:  # activations forward, their gradients backward, per stage boundary
        out["pp"] = 2 * n * m.d_model * a * n_micro
    return out


def ep_all_to_all_bytes(
    m: ModelConfig, pc: ParallelConfig, micro_batch: int, seq_len: int, n_micro: int, a: int = BF16
) -> float:
    """Bytes one rank sends to other ranks in the expert all-to-alls of a step: each routed row
    goes out and back in the forward (again in the recompute under activation checkpointing),
    and its gradient the same way in the backward; with balanced routing (ep - 1) / ep of the
    rows live on another rank."""
    layers = -(-m.n_layers // pc.pp)
    rows = micro_batch * seq_len // pc.cp * m.top_k
    passes = 6 if pc.activation_checkpoint != "none" else 4
    return (pc.ep - 1) / pc.ep * passes * rows * m.d_model * a * layers * n_micro


def step_seconds(
    m: ModelConfig,
    pc: ParallelConfig,
    micro_batch: int,
    seq_len: int,
    n_micro: int,
    hw: Hardware,
    recompute: float = 0.0,
) -> dict[str, float]:
    """Estimated seconds per optimizer step and its parts (``recompute``: extra forward share)."""
    tokens = micro_batch * seq_len * n_micro  # per data replica per step
    flops = tokens * flops_per_token(m, seq_len) * (1 + recompute / 3)
    compute = flops / (pc.pp * pc.cp) / (hw.peak_tflops * 1e12 * hw.mfu)
    bubble = compute * (pc.pp - 1) / (n_micro * pc.stages_per_rank) if pc.pp > 1 else 0.0
    comm = {
        d: b / (link_gbps(d, pc, hw) * 1e9)
        for d, b in comm_bytes(m, pc, micro_batch, seq_len, n_micro).items()
    }
    exposed = sum(v for d, v in comm.items() if d in ("ep", "cp", "pp"))
    hidden = sum(v for d, v in comm.items() if d == "dp_shard")
    total = compute + bubble + exposed + max(0.0, hidden - compute)
    return {"compute": compute, "bubble": bubble, "comm": comm, "total": total}
