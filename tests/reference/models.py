"""A micro MoE configuration shared by the export and quantization tests: milliseconds per
forward, with every structural feature (GQA, shared + routed experts, top-k routing)."""

MICRO_MOE = dict(
    vocab_size=256,
    d_model=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    head_dim=16,
    n_shared_experts=2,
    n_routed_experts=4,
    top_k=2,
    expert_dim=64,
    max_seq_len=64,
)
