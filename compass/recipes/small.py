"""A model for one GPU workstation: ~1B total parameters, the report's shape scaled down."""

from __future__ import annotations

from compass.model.config import ModelConfig
from compass.recipes.recipe import Recipe
from compass.tokenizer.config import TokenizerConfig


def small() -> Recipe:
    return Recipe(
        name="small",
        model=ModelConfig(
            vocab_size=32_768,
            d_model=768,
            n_layers=12,
            n_heads=12,
            n_kv_heads=4,
            head_dim=64,
            n_shared_experts=2,
            n_routed_experts=32,
            top_k=4,
            expert_dim=512,
            max_seq_len=2048,
        ),
        tokenizer=TokenizerConfig(
            vocab_size=32_768, max_lines_per_lang=200_000, max_bytes_per_lang=50_000_000
        ),
    )
