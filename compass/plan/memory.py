"""Memory per GPU for a model, a layout and a micro-batch: model state exactly, activations by
formula.

Model state comes from the parameter shapes of the model built on the meta device, placed the
way the engine places them: layers on their pipeline stage (``stage_layers``), the embedding on
the first stage and the head on the last, routed experts cut ``E / ep`` (expert parallel), every
parameter's first dimension cut ``ceil(n / dp_shard)`` (FSDP2's shards; the first rank's is the
largest). Master weights, gradients and AdamW's two moments are float32 (the GPU recipe keeps
float32 masters and reduces gradients in float32; bf16 is the compute copy of the gathered unit).

Activations are what autograd saves per layer, counted op by op from the model code (the test
checks them against ``compass.plan.measure`` on real forwards). Legend: N local tokens of a
micro-batch, A = N·k routed rows, S keys per sequence, a bytes per activation element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from compass.distributed.layout import ParallelConfig
from compass.distributed.stage import stage_layers
from compass.model.config import ModelConfig

F32, I64 = 4, 8


@dataclass
class StateBytes:
    params: int  # float32 master weights held by this rank
    grads: int  # float32 gradients (sharded like the weights)
    optim: int  # AdamW exp_avg + exp_avg_sq (+ its step counters)
    gathered_bf16: (
        int  # transient: the largest FSDP unit gathered in the compute dtype (×2 prefetch)
    )


def param_shapes(model: ModelConfig) -> dict[str, torch.Size]:
    from compass.model import CompassModel

    with torch.device("meta"):
        return {n: p.shape for n, p in CompassModel(model).named_parameters()}


def stage_of(name: str, model: ModelConfig, pc: ParallelConfig) -> int:
    """The pipeline rank holding parameter ``name`` (rank r runs stages r, r + pp, ...)."""
    n_stages = pc.pp * pc.stages_per_rank
    if name.startswith("embed."):
        return 0
    if name.startswith("layers."):
        layer = int(name.split(".")[1])
        stage = next(
            s for s in range(n_stages) if layer < stage_layers(model.n_layers, s, n_stages)[1]
        )
        return stage % pc.pp
    return pc.pp - 1  # final norm and LM head


def rank_layers(model: ModelConfig, rank: int, pc: ParallelConfig) -> int:
    n_stages = pc.pp * pc.stages_per_rank
    spans = [stage_layers(model.n_layers, s, n_stages) for s in range(rank, n_stages, pc.pp)]
    return sum(hi - lo for lo, hi in spans)


def local_numel(name: str, shape: torch.Size, pc: ParallelConfig) -> int:
    dims = list(shape)
    if ".experts." in name:
        dims[0] //= pc.ep
    dims[0] = math.ceil(dims[0] / pc.dp_shard)
    return math.prod(dims)


def state_bytes(model: ModelConfig, pc: ParallelConfig, stage: int | None = None) -> StateBytes:
    """Model state on the first rank of ``stage`` (default: the stage that holds the most)."""
    shapes = param_shapes(model)
    stages = range(pc.pp) if stage is None else [stage]
    best = None
    for s in stages:
        mine = {n: sh for n, sh in shapes.items() if stage_of(n, model, pc) == s}
        numel = sum(local_numel(n, sh, pc) for n, sh in mine.items())
        units: dict[str, int] = {}
        for n, sh in mine.items():
            unit = ".".join(n.split(".")[:2]) if n.startswith("layers.") else "root"
            units[unit] = units.get(unit, 0) + math.prod(sh) // (pc.ep if ".experts." in n else 1)
        gathered = 2 * 2 * max(units.values()) if pc.dp_shard > 1 else 0
        sb = StateBytes(F32 * numel, F32 * numel, 2 * F32 * numel + F32 * len(mine), gathered)
        if best is None or sb.params > best.params:
            best = sb
    return best


def layer_activation_bytes(m: ModelConfig, n: int, s_keys: int, a: int, batch: int) -> int:
    """Bytes one block saves for a micro-batch of ``n`` local tokens (``s_keys`` keys each)."""
    D, H, K, d, E, k, I = (
        m.d_model,
        m.n_heads,
        m.n_kv_heads,
        m.head_dim,
        m.n_routed_experts,
        m.top_k,
        m.expert_dim,
    )
    W, A = m.n_shared_experts * I, n * k
    norms = 2 * (3 * a * n * D + F32 * n)  # input, x̂, output; rsqrt in float32
    attn = a * n * 3 * H * d + F32 * n * H  # q, output, o_proj input; log-sum-exp
    attn += 2 * a * batch * s_keys * K * d  # k, v over every key (all-gathered under cp)
    router = 2 * F32 * n * E + F32 * n + I64 * A + (F32 * n * D if a != F32 else 0)
    routed = a * A * (2 * D + 4 * I) + F32 * A + 2 * I64 * A  # rows in/out, SwiGLU; weights, perm
    shared = a * (2 * W * D + 4 * W * n)  # the fused gate|up weight copy; SwiGLU
    return norms + attn + router + routed + shared


def activation_bytes(
    m: ModelConfig,
    micro_batch: int,
    seq_len: int,
    pc: ParallelConfig,
    checkpoint: str = "none",
    a: int = F32,
    stage: int = 0,
) -> int:
    """Bytes saved for the backward by one micro-batch on ``stage`` (the rank's whole forward)."""
    n, s_keys = micro_batch * seq_len // pc.cp, seq_len
    per_layer = layer_activation_bytes(m, n, s_keys, a, micro_batch)
    if checkpoint == "full":
        per_layer = a * n * m.d_model  # the block's input
    elif checkpoint == "selective":
        per_layer = selective_layer_bytes(m, n, s_keys, a, micro_batch)
    total = rank_layers(m, stage, pc) * per_layer
    if stage == 0:
        total += I64 * n
    total += 2 * a * n * m.head_dim  # RoPE cos and sin
    if stage == pc.pp - 1:  # final norm, then the loss's float32 log-softmax and labels
        total += 3 * a * n * m.d_model + F32 * n + F32 * n * m.vocab_size + I64 * n
    return total


def selective_layer_bytes(m: ModelConfig, n: int, s_keys: int, a: int, batch: int) -> int:
    """Selective checkpointing keeps the block input and the outputs of the matmuls/attention."""
    D, H, K, d, I = m.d_model, m.n_heads, m.n_kv_heads, m.head_dim, m.expert_dim
    W, A = m.n_shared_experts * I, n * m.top_k
    proj = a * n * (H * d + 2 * K * d) + a * n * D  # q, k, v and o_proj outputs
    sdpa = a * n * H * d + F32 * n * H
    moe = a * A * (2 * I + D) + a * n * (2 * W + D)  # expert and shared matmul outputs
    return a * n * D + proj + sdpa + moe + F32 * n * m.n_routed_experts
