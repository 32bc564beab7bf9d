"""The embedded default: a model and schedule that run the whole pipeline on 2 CPU cores."""

from __future__ import annotations

from compass.data.synth.config import DataGenConfig
from compass.data.synth.tasks.config import (
    DPOTasksConfig,
    RewardTasksConfig,
    SFTTasksConfig,
    TasksConfig,
)
from compass.eval.config import EvalConfig
from compass.model.config import ModelConfig
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.reward.config import RewardConfig
from compass.posttrain.sft.config import SelectionConfig, SFTConfig, SFTStageConfig
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.quant.config import QuantConfig
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
        # Input dims of 128: group 32 keeps INT4 group-wise rather than per-channel.
        quant=QuantConfig(group_size=32),
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
        pretrain=micro_pretrain(),
        quant=QuantConfig(group_size=32, awq_grid=8, calib_samples=16, calib_seq_len=128),
        eval=EvalConfig(items_per_lang=2),
        datagen=DataGenConfig(
            n_products=200, n_shops=20, n_users=100, n_docs=2000, eval_items_per_task=5
        ),
        tasks=micro_tasks(),
        sft=micro_sft(),
        reward=micro_reward(),
        dpo=micro_dpo(),
    )


def micro_pretrain() -> PretrainConfig:
    """Seconds per stage: the same three-stage shape as tiny at 1/8 of its sequence length."""
    main = PretrainStageConfig(
        steps=30, micro_batch_size=4, seq_len=64, lr=3e-3, min_lr=3e-4, warmup_steps=3,
        eval_every=10, eval_batches=2, ckpt_every=10, log_every=5,
    )  # fmt: skip
    anneal = PretrainStageConfig(
        steps=12, micro_batch_size=6, seq_len=64, lr=1.5e-3, min_lr=3e-4, warmup_steps=2,
        hq_only=True, eval_every=6, eval_batches=2, ckpt_every=6, log_every=3,
    )  # fmt: skip
    long = PretrainStageConfig(
        steps=6, micro_batch_size=1, seq_len=512, lr=3e-4, min_lr=3e-4, warmup_steps=0,
        lr_schedule="constant", rope_base=1_000_000.0, short_doc_frac=0.4, short_doc_len=64,
        eval_every=0, eval_batches=1, eval_short_seq_len=64, ckpt_every=3, log_every=2,
    )  # fmt: skip
    return PretrainConfig(main=main, anneal=anneal, long=long)


def micro_tasks() -> TasksConfig:
    """Two languages and a few dozen rows of each kind: seconds per post-training stage."""
    return TasksConfig(
        langs=["en", "id"],
        sft=SFTTasksConfig(stage1_per_lang=48, stage2_per_lang=16, cart_cot_per_lang=24,
                           cart_fast_per_lang=12, math_cot_per_lang=4, eval_cart_per_lang=5,
                           eval_language_per_lang=2),
        reward=RewardTasksConfig(train_pairs_per_lang_kind=4, heldout_pairs_per_lang_kind=2,
                                 bon_prompts_per_lang=1, verifier_chains=8),
        dpo=DPOTasksConfig(rounds=1,
                           prompts_per_lang={"general": 1, "badcase": 1, "math": 1, "ecommerce": 1},
                           eval_math_per_lang=1, eval_general_per_lang=1),
    )  # fmt: skip


def micro_sft() -> SFTConfig:
    """Seconds per SFT stage: hash embeddings, four steps each."""
    stage = dict(micro_batch_size=2, seq_len=256, lr=1e-3, min_lr=1e-4, warmup_steps=1,
                 eval_every=0, eval_batches=1, ckpt_every=4, log_every=2)  # fmt: skip
    return SFTConfig(
        selection=SelectionConfig(embedder="hash"),
        stage1=SFTStageConfig(steps=4, **stage),
        stage2=SFTStageConfig(steps=4, stage1_resample=0.2, **stage),
        eval_max_tokens=16,
    )


def micro_reward() -> RewardConfig:
    """Seconds: four short runs, Best-of-N up to 4."""
    cfg = RewardConfig(bon_n=[1, 2, 4], bon_max_tokens=8, lm_batch=2)
    cfg.train.micro_batch_size = 4
    cfg.verifier.steps, cfg.verifier.micro_batch_size, cfg.verifier.warmup_steps = 2, 2, 0
    return cfg


def micro_dpo() -> DPOConfig:
    """Seconds: one round, 4 samples per prompt, short answers."""
    return DPOConfig(
        rounds=1, n_samples=4, max_tokens=8, eval_max_tokens=8, eval_deep_max_tokens=8,
        deep_max_tokens=8,
        min_margin=0.0,  # a micro reward model's scores barely spread: still train on its pairs
    )  # fmt: skip
