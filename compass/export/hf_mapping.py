"""The exact map between a Compass checkpoint and Hugging Face's Qwen2-MoE layout.

Qwen2-MoE has the same block as ours except for three details, each bridged exactly:
- ONE shared expert behind a sigmoid gate: our shared experts are already stored as one SwiGLU of
  width n_shared·I, the gate gets zero weights (sigmoid(0) = 0.5 for every token) and the shared
  down-projection is doubled to compensate (×2 and ÷2 are exact in binary floating point).
- q/k/v biases: we have none, so explicit zero tensors are written (vLLM's Qwen2-MoE always adds
  them and reads garbage without them).
- routed experts: written per expert (``mlp.experts.E.{gate,up,down}_proj.weight``), the legacy
  layout that vLLM and llama.cpp's converter read; transformers 5 fuses them back into
  ``[E, 2I, D]`` / ``[E, D, I]`` through its conversion mapping — the exact layout we store.
Import also accepts that fused layout, as transformers' own ``save_pretrained`` may write it.

Tensors are produced one at a time from a ``get(name)`` callback so a 30B checkpoint is converted
shard by shard, never held twice in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from compass.config import ConfigError
from compass.model.config import ModelConfig

Getter = Callable[[str], torch.Tensor]

ARCHITECTURE = "Qwen2MoeForCausalLM"
MODEL_TYPE = "qwen2_moe"


def to_hf_config(cfg: ModelConfig, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """``config.json`` for transformers / vLLM / llama.cpp (no custom code)."""
    check_exportable(cfg)
    return {
        "architectures": [ARCHITECTURE],
        "model_type": MODEL_TYPE,
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.d_model,
        # Only dense (mlp_only) layers would use it; we have none. Kept equal to the shared width.
        "intermediate_size": cfg.n_shared_experts * cfg.expert_dim,
        "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_kv_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_seq_len,
        "initializer_range": cfg.init_std,
        "rms_norm_eps": cfg.norm_eps,
        "use_cache": True,
        "tie_word_embeddings": cfg.tie_embeddings,
        # transformers 5 reads rope_parameters; vLLM and llama.cpp's converter read rope_theta.
        "rope_theta": cfg.rope_base,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_base},
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": cfg.n_layers,
        "attention_dropout": 0.0,
        "decoder_sparse_step": 1,
        "mlp_only_layers": [],
        "moe_intermediate_size": cfg.expert_dim,
        "shared_expert_intermediate_size": cfg.n_shared_experts * cfg.expert_dim,
        "num_experts": cfg.n_routed_experts,
        "num_experts_per_tok": cfg.top_k,
        "norm_topk_prob": False,
        "output_router_logits": False,
        "qkv_bias": True,
        # "dtype" for transformers 5; "torch_dtype" for vLLM and older transformers.
        "dtype": str(dtype).removeprefix("torch."),
        "torch_dtype": str(dtype).removeprefix("torch."),
    }


def check_exportable(cfg: ModelConfig) -> None:
    if cfg.renormalize_topk:
        raise ConfigError(
            "model.renormalize_topk=true cannot be exported: Qwen2-MoE in vLLM and llama.cpp only "
            "reproduces plain softmax top-k weights (norm_topk_prob=false); retrain or fine-tune "
            "with model.renormalize_topk=false"
        )
    if cfg.n_shared_experts == 0:
        raise ConfigError(
            "model.n_shared_experts=0 cannot be exported: Qwen2-MoE always has a shared expert"
        )
    if cfg.n_heads * cfg.head_dim != cfg.d_model:
        raise ConfigError(
            f"model.n_heads×model.head_dim={cfg.n_heads * cfg.head_dim} must equal "
            f"model.d_model={cfg.d_model}: vLLM's Qwen2-MoE derives head_dim from hidden_size"
        )


def from_hf_config(hf: dict[str, Any], source: str = "config.json") -> ModelConfig:
    """The ModelConfig of a Qwen2-MoE ``config.json``; refuses what our model cannot represent."""

    def need(key: str) -> Any:
        if key not in hf:
            raise ConfigError(f"{source}: key '{key}' is missing (not a Qwen2-MoE config?)")
        return hf[key]

    if hf.get("model_type") != MODEL_TYPE:
        raise ConfigError(
            f"{source}: model_type={hf.get('model_type')!r}, expected '{MODEL_TYPE}' — only "
            "Qwen2-MoE checkpoints map onto the Compass model"
        )
    problems = []
    if hf.get("norm_topk_prob", False):
        problems.append("norm_topk_prob=true (Compass exports plain softmax weights only)")
    if hf.get("use_sliding_window", False):
        problems.append("use_sliding_window=true (Compass attention is full causal)")
    if hf.get("mlp_only_layers") or hf.get("decoder_sparse_step", 1) != 1:
        problems.append("dense layers (mlp_only_layers / decoder_sparse_step != 1)")
    if hf.get("hidden_act", "silu") != "silu":
        problems.append(f"hidden_act={hf['hidden_act']!r} (Compass experts are SwiGLU)")
    rope = hf.get("rope_parameters") or {}
    if rope.get("rope_type", "default") != "default":
        problems.append(f"rope_parameters.rope_type={rope['rope_type']!r} (only default RoPE)")
    expert_dim, shared = need("moe_intermediate_size"), need("shared_expert_intermediate_size")
    if shared % expert_dim or shared == 0:
        problems.append(
            f"shared_expert_intermediate_size={shared} is not a positive multiple of "
            f"moe_intermediate_size={expert_dim}"
        )
    if problems:
        raise ConfigError(f"{source}: cannot import: " + "; ".join(problems))
    n_heads = need("num_attention_heads")
    cfg = ModelConfig(
        vocab_size=need("vocab_size"),
        d_model=need("hidden_size"),
        n_layers=need("num_hidden_layers"),
        n_heads=n_heads,
        n_kv_heads=hf.get("num_key_value_heads") or n_heads,
        head_dim=hf.get("head_dim") or need("hidden_size") // n_heads,
        n_shared_experts=shared // expert_dim,
        n_routed_experts=need("num_experts"),
        top_k=need("num_experts_per_tok"),
        expert_dim=expert_dim,
        max_seq_len=hf.get("max_position_embeddings", ModelConfig.max_seq_len),
        rope_base=float(rope.get("rope_theta", hf.get("rope_theta", ModelConfig.rope_base))),
        norm_eps=hf.get("rms_norm_eps", ModelConfig.norm_eps),
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        init_std=hf.get("initializer_range", ModelConfig.init_std),
    )
    try:
        cfg.validate()
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return cfg


def _hf_layer_shapes(cfg: ModelConfig, i: int) -> dict[str, tuple[int, ...]]:
    D, inner, E = cfg.d_model, cfg.expert_dim, cfg.n_routed_experts
    q, kv, S = (
        cfg.n_heads * cfg.head_dim,
        cfg.n_kv_heads * cfg.head_dim,
        cfg.n_shared_experts * inner,
    )
    p = f"model.layers.{i}."
    shapes = {
        p + "input_layernorm.weight": (D,),
        p + "self_attn.q_proj.weight": (q, D),
        p + "self_attn.q_proj.bias": (q,),
        p + "self_attn.k_proj.weight": (kv, D),
        p + "self_attn.k_proj.bias": (kv,),
        p + "self_attn.v_proj.weight": (kv, D),
        p + "self_attn.v_proj.bias": (kv,),
        p + "self_attn.o_proj.weight": (D, q),
        p + "post_attention_layernorm.weight": (D,),
        p + "mlp.gate.weight": (E, D),
        p + "mlp.shared_expert.gate_proj.weight": (S, D),
        p + "mlp.shared_expert.up_proj.weight": (S, D),
        p + "mlp.shared_expert.down_proj.weight": (D, S),
        p + "mlp.shared_expert_gate.weight": (1, D),
    }
    for e in range(E):
        shapes[p + f"mlp.experts.{e}.gate_proj.weight"] = (inner, D)
        shapes[p + f"mlp.experts.{e}.up_proj.weight"] = (inner, D)
        shapes[p + f"mlp.experts.{e}.down_proj.weight"] = (D, inner)
    return shapes


def hf_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor of the exported directory (per-expert layout) and its shape."""
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, cfg.d_model)}
    for i in range(cfg.n_layers):
        shapes.update(_hf_layer_shapes(cfg, i))
    shapes["model.norm.weight"] = (cfg.d_model,)
    if not cfg.tie_embeddings:
        shapes["lm_head.weight"] = (cfg.vocab_size, cfg.d_model)
    return shapes


_DIRECT = {  # compass suffix -> HF suffix, copied unchanged inside each layer
    "attn_norm.weight": "input_layernorm.weight",
    "attn.q_proj.weight": "self_attn.q_proj.weight",
    "attn.k_proj.weight": "self_attn.k_proj.weight",
    "attn.v_proj.weight": "self_attn.v_proj.weight",
    "attn.o_proj.weight": "self_attn.o_proj.weight",
    "moe_norm.weight": "post_attention_layernorm.weight",
    "moe.router.weight": "mlp.gate.weight",
    "moe.shared.gate_proj.weight": "mlp.shared_expert.gate_proj.weight",
    "moe.shared.up_proj.weight": "mlp.shared_expert.up_proj.weight",
}


def to_hf_tensors(cfg: ModelConfig, get: Getter) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (HF name, tensor) for the whole model; ``get`` reads one Compass tensor by name."""
    check_exportable(cfg)
    yield "model.embed_tokens.weight", get("embed.weight")
    inner = cfg.expert_dim
    for i in range(cfg.n_layers):
        ours, p = f"layers.{i}.", f"model.layers.{i}."
        for src, dst in _DIRECT.items():
            t = get(ours + src)
            yield p + dst, t
            if dst.startswith("self_attn.") and dst[10] in "qkv":
                yield p + dst.replace(".weight", ".bias"), torch.zeros(t.shape[0], dtype=t.dtype)
        down = get(ours + "moe.shared.down_proj.weight")
        yield p + "mlp.shared_expert.down_proj.weight", down * 2
        yield p + "mlp.shared_expert_gate.weight", torch.zeros(1, cfg.d_model, dtype=down.dtype)
        gate_up, down_e = (
            get(ours + "moe.experts.gate_up_proj"),
            get(ours + "moe.experts.down_proj"),
        )
        for e in range(cfg.n_routed_experts):
            # clone: safetensors refuses views that share one storage
            yield p + f"mlp.experts.{e}.gate_proj.weight", gate_up[e, :inner].clone()
            yield p + f"mlp.experts.{e}.up_proj.weight", gate_up[e, inner:].clone()
            yield p + f"mlp.experts.{e}.down_proj.weight", down_e[e].clone()
    yield "model.norm.weight", get("norm.weight")
    if not cfg.tie_embeddings:
        yield "lm_head.weight", get("lm_head.weight")


def _require_zero(t: torch.Tensor, name: str, why: str) -> None:
    if torch.count_nonzero(t):
        raise ConfigError(
            f"tensor '{name}' is not all zero (max |x| = {t.abs().max().item():.3g}): {why}"
        )


def from_hf_tensors(
    cfg: ModelConfig, get: Getter, fused_experts: bool
) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (Compass name, tensor), the exact inverse of :func:`to_hf_tensors`.

    ``fused_experts``: the directory stores ``mlp.experts.gate_up_proj`` / ``down_proj`` as
    ``[E, 2I, D]`` / ``[E, D, I]`` (transformers 5) instead of one tensor per expert.
    """
    yield "embed.weight", get("model.embed_tokens.weight")
    for i in range(cfg.n_layers):
        ours, p = f"layers.{i}.", f"model.layers.{i}."
        for src, dst in _DIRECT.items():
            yield ours + src, get(p + dst)
        for proj in "qkv":
            name = p + f"self_attn.{proj}_proj.bias"
            _require_zero(get(name), name, "Compass attention has no q/k/v biases")
        name = p + "mlp.shared_expert_gate.weight"
        _require_zero(
            get(name), name, "the shared-expert gate must be the constant 0.5 of sigmoid(0)"
        )
        yield (
            ours + "moe.shared.down_proj.weight",
            get(p + "mlp.shared_expert.down_proj.weight") / 2,
        )
        if fused_experts:
            yield ours + "moe.experts.gate_up_proj", get(p + "mlp.experts.gate_up_proj")
            yield ours + "moe.experts.down_proj", get(p + "mlp.experts.down_proj")
            continue
        E = range(cfg.n_routed_experts)
        gate_up = [
            torch.cat(
                [
                    get(p + f"mlp.experts.{e}.gate_proj.weight"),
                    get(p + f"mlp.experts.{e}.up_proj.weight"),
                ]
            )
            for e in E
        ]
        yield ours + "moe.experts.gate_up_proj", torch.stack(gate_up)
        down = [get(p + f"mlp.experts.{e}.down_proj.weight") for e in E]
        yield ours + "moe.experts.down_proj", torch.stack(down)
    yield "norm.weight", get("model.norm.weight")
    if not cfg.tie_embeddings:
        yield "lm_head.weight", get("lm_head.weight")


def fused_hf_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Like :func:`hf_shapes` but with transformers 5's fused ``[E, ·, ·]`` expert tensors."""
    D, inner, E = cfg.d_model, cfg.expert_dim, cfg.n_routed_experts
    shapes = {k: v for k, v in hf_shapes(cfg).items() if ".mlp.experts." not in k}
    for i in range(cfg.n_layers):
        shapes[f"model.layers.{i}.mlp.experts.gate_up_proj"] = (E, 2 * inner, D)
        shapes[f"model.layers.{i}.mlp.experts.down_proj"] = (E, D, inner)
    return shapes


def check_shapes(
    expected: dict[str, tuple[int, ...]], got: dict[str, tuple[int, ...]], source: str
) -> None:
    """Raise naming the first tensor that is missing, or whose shape differs (both shapes)."""
    missing = [k for k in expected if k not in got]
    if missing:
        raise ConfigError(
            f"{source}: {len(missing)} tensor(s) the config implies are missing, e.g. "
            f"{missing[:3]} — config.json and the weights disagree"
        )
    for k, shape in expected.items():
        if tuple(got[k]) != tuple(shape):
            raise ConfigError(
                f"{source}: tensor '{k}' has shape {tuple(got[k])} in the weights but "
                f"{tuple(shape)} from config.json — the weights come from a different architecture"
            )
