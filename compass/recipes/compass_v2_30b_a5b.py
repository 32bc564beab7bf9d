"""The report's model: Table 2 (30 layers, GQA 24/6, head dim 128, 2 shared + 48 routed experts,
top-4, expert size 2048) with a 180k vocabulary (§2.1.3) and a 4k context (§2.2)."""

from __future__ import annotations

from compass.model.config import ModelConfig
from compass.recipes.recipe import Recipe
from compass.tokenizer.config import REPORT_GROUPS, TokenizerConfig


def compass_v2_30b_a5b() -> Recipe:
    return Recipe(
        name="compass_v2_30b_a5b",
        model=ModelConfig(
            vocab_size=180_000,
            d_model=3072,
            n_layers=30,
            n_heads=24,
            n_kv_heads=6,
            head_dim=128,
            n_shared_experts=2,
            n_routed_experts=48,
            top_k=4,
            expert_dim=2048,
            max_seq_len=4096,
            rope_base=10_000.0,
            tie_embeddings=False,
        ),
        # §2.1.3: 150k (zh, en, 6 SEA) + 20k (9 European) + 50k (zh) sub-tokenizers -> 180k,
        # 2M sampled pieces of data per language.
        tokenizer=TokenizerConfig(
            vocab_size=180_000,
            groups=REPORT_GROUPS,
            max_lines_per_lang=2_000_000,
            max_bytes_per_lang=2_000_000_000,
            num_threads=32,
        ),
    )
