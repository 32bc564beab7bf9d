"""The embedded default: a model and schedule that run the whole pipeline on 2 CPU cores."""

from __future__ import annotations

from compass.model.config import ModelConfig
from compass.recipes.recipe import Recipe
from compass.tokenizer.config import TokenizerConfig


def tiny() -> Recipe:
    return Recipe(
        name="tiny",
        model=ModelConfig(
            vocab_size=4096,
            d_model=128,
            n_layers=4,
            n_heads=4,
            n_kv_heads=2,
            head_dim=32,
            n_shared_experts=2,
            n_routed_experts=8,
            top_k=2,
            expert_dim=128,
            max_seq_len=512,
        ),
        tokenizer=TokenizerConfig(vocab_size=4096),
    )


def micro() -> Recipe:
    """Smaller than tiny: the integration test's whole chain in well under a minute per stage."""
    return Recipe(
        name="micro",
        model=ModelConfig(
            vocab_size=1024,
            d_model=64,
            n_layers=2,
            n_heads=4,
            n_kv_heads=2,
            head_dim=16,
            n_shared_experts=2,
            n_routed_experts=8,
            top_k=2,
            expert_dim=64,
            max_seq_len=256,
        ),
        tokenizer=TokenizerConfig(
            vocab_size=1024, max_lines_per_lang=5000, max_bytes_per_lang=500_000
        ),
    )
