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
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.reward.config import RewardConfig
from compass.posttrain.sft.config import SelectionConfig, SFTConfig, SFTStageConfig
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.recipes.recipe import Recipe
from compass.serve.config import ServeConfig
from compass.tokenizer.config import REPORT_GROUPS, TokenizerConfig
from compass.train.config import TrainConfig


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
    common = dict(
        micro_batch_size=2,
        mixed_precision=True,
        eval_every=1000,
        eval_batches=20,
        ckpt_every=1000,
        keep_last=3,
        log_every=10,
    )
    main = PretrainStageConfig(
        steps=339_000,
        global_batch=5760,
        seq_len=4096,
        lr=3e-4,
        min_lr=3e-5,
        warmup_steps=3000,
        **common,
    )
    anneal = PretrainStageConfig(
        steps=113_000,
        global_batch=8640,
        seq_len=4096,
        lr=1.5e-4,
        min_lr=3e-5,
        warmup_steps=2000,
        hq_only=True,
        **common,
    )
    long = PretrainStageConfig(
        steps=2200,
        global_batch=2160,
        seq_len=32_768,
        lr=3e-5,
        min_lr=3e-5,
        warmup_steps=0,
        lr_schedule="constant",
        rope_base=1_000_000.0,
        short_doc_frac=0.4,
        short_doc_len=4096,
        eval_short_seq_len=4096,
        **{**common, "micro_batch_size": 1, "eval_every": 200},
    )
    return PretrainConfig(main=main, anneal=anneal, long=long)


def report_tasks() -> TasksConfig:
    """The generated world at the report's post-training scale (§3–§4): a supplement to the
    user's own instruction, preference and prompt files."""
    return TasksConfig(
        sft=SFTTasksConfig(
            stage1_per_lang=200_000,
            stage2_per_lang=50_000,
            cart_cot_per_lang=20_000,
            cart_fast_per_lang=10_000,
            math_cot_per_lang=10_000,
            eval_cart_per_lang=500,
            eval_language_per_lang=100,
        ),
        reward=RewardTasksConfig(
            train_pairs_per_lang_kind=2000,
            heldout_pairs_per_lang_kind=200,
            verifier_chains=0,
            bon_task="numerical_reasoning",
            bon_prompts_per_lang=100,
        ),
        dpo=DPOTasksConfig(
            math_task="numerical_reasoning",
            prompts_per_lang={"general": 500, "badcase": 100, "math": 500, "ecommerce": 300},
            eval_math_per_lang=100,
            eval_general_per_lang=50,
        ),
    )


def report_sft() -> SFTConfig:
    """The report's scale (§3): USE-multilingual selection keeping ~17% (the report cut 83%),
    4k-token packed rows, a 512-sequence global batch, SFT-sized learning rates."""
    common = dict(
        seq_len=4096,
        micro_batch_size=2,
        global_batch=512,
        lr=2e-5,
        min_lr=2e-6,
        warmup_steps=100,
        mixed_precision=True,
        eval_every=500,
        ckpt_every=500,
        keep_last=3,
        log_every=10,
    )
    return SFTConfig(
        selection=SelectionConfig(embedder="use", keep_frac=0.17),
        stage1=SFTStageConfig(steps=6000, **common),
        stage2=SFTStageConfig(steps=3000, stage1_resample=0.2, long_cot_ratio=0.3, **common),
        eval_max_tokens=1024,
    )


def report_reward() -> RewardConfig:
    """The report's four runs ({1, 2} epochs × {3e-6, 4e-6} × {linear, cosine}, a balanced half)
    on full-length sequences, with the plain scalar head."""
    train = TrainConfig(
        steps=1,
        micro_batch_size=4,
        global_batch=128,
        seq_len=4096,
        lr=3e-6,
        min_lr=0.0,
        warmup_steps=0,
        eval_every=0,
        eval_batches=0,
        ckpt_every=500,
        keep_last=1,
        log_every=10,
        aux_coef=0.001,
        z_coef=0.0001,
        mixed_precision=True,
    )
    return RewardConfig(
        likelihood_term=False,
        lm_coef=0.0,
        base_run="",
        runs=["1:3e-6:linear", "1:4e-6:cosine", "2:3e-6:cosine", "2:4e-6:linear"],
        train=train,
        bon_temperature=1.0,
        bon_max_tokens=1024,
        score_batch=16,
    )


def report_dpo() -> DPOConfig:
    """The report's sampling: n = 32 answers per prompt at a relatively high temperature, and its
    plain DPO loss (no NLL term)."""
    train = TrainConfig(
        steps=1,
        micro_batch_size=2,
        global_batch=64,
        seq_len=4096,
        lr=5e-7,
        min_lr=5e-7,
        warmup_steps=0,
        lr_schedule="constant",
        eval_every=0,
        eval_batches=0,
        ckpt_every=200,
        keep_last=1,
        log_every=10,
        aux_coef=0.001,
        z_coef=0.0001,
        mixed_precision=True,
    )
    return DPOConfig(
        rounds=3,
        n_samples=32,
        temperature=1.0,
        max_tokens=2048,
        deep_max_tokens=4096,
        nll_alpha=0.0,
        train=train,
        eval_max_tokens=1024,
        eval_deep_max_tokens=4096,
        math_reference=False,
    )
