"""The Compass MoE architecture's hyperparameters (report §2.2, Table 2)."""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError


@dataclass
class ModelConfig(Config):
    vocab_size: int = 4096
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 32
    n_shared_experts: int = 2
    n_routed_experts: int = 8
    top_k: int = 2
    expert_dim: int = 128
    max_seq_len: int = 512
    rope_base: float = 10_000.0
    norm_eps: float = 1e-6
    tie_embeddings: bool = False
    # Renormalising the top-k weights is what some MoEs do; transformers' Qwen2-MoE with
    # norm_topk_prob=False, vLLM and llama.cpp reproduce only the plain softmax weights, so the
    # exporter refuses a model trained with it on.
    renormalize_topk: bool = False
    # "auto": a fixed rule over the kernels (compass/model/moe/experts.py); "measure" times bmm
    # against grouped_mm once per shape on this CPU (fastest, but floats may then vary by run).
    expert_impl: str = "auto"
    init_std: float = 0.02

    def validate(self) -> None:
        errs = []
        for name in (
            "vocab_size",
            "d_model",
            "n_layers",
            "n_heads",
            "n_kv_heads",
            "head_dim",
            "n_routed_experts",
            "top_k",
            "expert_dim",
        ):
            if getattr(self, name) <= 0:
                errs.append(f"model.{name}={getattr(self, name)} must be positive")
        if self.n_kv_heads > 0 and self.n_heads % self.n_kv_heads:
            errs.append(
                f"model.n_heads={self.n_heads} is not a multiple of model.n_kv_heads="
                f"{self.n_kv_heads} (GQA shares each KV head across a whole group of query heads)"
            )
        if self.n_heads * self.head_dim != self.d_model:
            errs.append(
                f"model.n_heads={self.n_heads} × model.head_dim={self.head_dim} must equal "
                f"model.d_model={self.d_model} (the Qwen2-MoE layout the exporter targets)"
            )
        if self.head_dim % 2:
            errs.append(f"model.head_dim={self.head_dim} must be even for RoPE")
        if self.top_k > self.n_routed_experts:
            errs.append(
                f"model.top_k={self.top_k} exceeds model.n_routed_experts={self.n_routed_experts}"
            )
        if self.n_shared_experts < 0:
            errs.append(f"model.n_shared_experts={self.n_shared_experts} must be >= 0")
        if self.expert_impl not in ("auto", "measure", "grouped_mm", "bmm", "loop"):
            errs.append(
                f"model.expert_impl={self.expert_impl!r}: choose auto, measure, grouped_mm, bmm "
                "or loop"
            )
        if errs:
            raise ConfigError("inconsistent model config: " + "; ".join(errs))

    @property
    def n_kv_groups(self) -> int:
        return self.n_heads // self.n_kv_heads
