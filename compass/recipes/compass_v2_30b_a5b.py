"""The report's model: Table 2 (30 layers, GQA 24/6, head dim 128, 2 shared + 48 routed experts,
top-4, expert size 2048) with a 180k vocabulary (§2.1.3) and a 4k context (§2.2)."""

from __future__ import annotations

from compass.data.curation.config import web_scale_curation
from compass.data.synth.tasks.config import (
    DPOTasksConfig,
    RewardTasksConfig,
    SFTTasksConfig,
    TasksConfig,
)
from compass.model.config import ModelConfig
from compass.posttrain.dpo.config import report_dpo
from compass.posttrain.reward.config import report_reward
from compass.posttrain.sft.config import report_sft
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.recipes.recipe import Recipe
from compass.serve.config import ServeConfig
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
        curation=web_scale_curation(),
        pretrain=report_pretrain(),
        tasks=report_tasks(),
        sft=report_sft(),
        reward=report_reward(),
        dpo=report_dpo(),
        # Serving the full model (GPU): wide batches, answers up to the 4k context.
        serve=ServeConfig(
            max_new_tokens=4096,
            default_max_tokens=1024,
            max_concurrent=64,
            max_queue=256,
            max_body_bytes=4_000_000,
            request_timeout_s=600.0,
        ),
    )


def report_pretrain() -> PretrainConfig:
    """Report §2.3. Steps follow from the token budgets: 8T / (5760 × 4096) ≈ 339k main steps,
    4T / (8640 × 4096) ≈ 113k anneal steps; the long stage ran 2200 steps."""
    common = dict(micro_batch_size=2, mixed_precision=True, eval_every=1000, eval_batches=20,
                  ckpt_every=1000, keep_last=3, log_every=10)  # fmt: skip
    main = PretrainStageConfig(
        steps=339_000, global_batch=5760, seq_len=4096, lr=3e-4, min_lr=3e-5, warmup_steps=3000,
        **common,
    )  # fmt: skip
    anneal = PretrainStageConfig(
        steps=113_000, global_batch=8640, seq_len=4096, lr=1.5e-4, min_lr=3e-5,
        warmup_steps=2000, hq_only=True, **common,
    )  # fmt: skip
    long = PretrainStageConfig(
        steps=2200, global_batch=2160, seq_len=32_768, lr=3e-5, min_lr=3e-5, warmup_steps=0,
        lr_schedule="constant", rope_base=1_000_000.0, short_doc_frac=0.4, short_doc_len=4096,
        eval_short_seq_len=4096, **{**common, "micro_batch_size": 1, "eval_every": 200},
    )  # fmt: skip
    return PretrainConfig(main=main, anneal=anneal, long=long)


def report_tasks() -> TasksConfig:
    """The generated world at the report's post-training scale (§3–§4): a supplement to the
    user's own instruction, preference and prompt files."""
    return TasksConfig(
        sft=SFTTasksConfig(stage1_per_lang=200_000, stage2_per_lang=50_000,
                           cart_cot_per_lang=20_000, cart_fast_per_lang=10_000,
                           math_cot_per_lang=10_000, eval_cart_per_lang=500,
                           eval_language_per_lang=100),
        reward=RewardTasksConfig(train_pairs_per_lang_kind=2000, heldout_pairs_per_lang_kind=200,
                                 verifier_chains=0, bon_task="numerical_reasoning",
                                 bon_prompts_per_lang=100),
        dpo=DPOTasksConfig(math_task="numerical_reasoning",
                           prompts_per_lang={"general": 500, "badcase": 100, "math": 500,
                                             "ecommerce": 300},
                           eval_math_per_lang=100, eval_general_per_lang=50),
    )  # fmt: skip
