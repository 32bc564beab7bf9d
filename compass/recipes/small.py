"""A model for one GPU workstation: ~1B total parameters, the report's shape scaled down, with
schedules sized for one 80 GB GPU (bf16, FSDP2 off): a ~15B-token pretraining budget, the
report's post-training recipe at a smaller batch. The token budget is a stated choice, not a
measured optimum: steps × global batch × sequence length below."""

from __future__ import annotations

from compass.model.config import ModelConfig
from compass.posttrain.sft.config import SelectionConfig, SFTConfig, SFTStageConfig
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.recipes.compass_v2_30b_a5b import report_dpo, report_reward
from compass.recipes.recipe import Recipe
from compass.tokenizer.config import TokenizerConfig


def small() -> Recipe:
    reward, dpo = report_reward(), report_dpo()
    reward.train.global_batch, reward.train.seq_len = 64, 2048
    dpo.train.global_batch, dpo.train.seq_len = 32, 2048
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
        pretrain=small_pretrain(),
        sft=small_sft(),
        reward=reward,
        dpo=dpo,
    )


def small_pretrain() -> PretrainConfig:
    """Main: 24k steps × 256 × 2048 ≈ 12.6B tokens; anneal on high-quality data: 4k steps × 384
    × 2048 ≈ 3.1B; long context 2k → 8k with RoPE ABF: 600 steps × 32 × 8192 ≈ 0.16B."""
    common = dict(
        micro_batch_size=16,
        mixed_precision=True,
        eval_every=1000,
        eval_batches=20,
        ckpt_every=1000,
        keep_last=3,
        log_every=10,
    )
    main = PretrainStageConfig(
        steps=24_000,
        global_batch=256,
        seq_len=2048,
        lr=6e-4,
        min_lr=6e-5,
        warmup_steps=1000,
        **common,
    )
    anneal = PretrainStageConfig(
        steps=4000,
        global_batch=384,
        seq_len=2048,
        lr=3e-4,
        min_lr=3e-5,
        warmup_steps=200,
        hq_only=True,
        **common,
    )
    long = PretrainStageConfig(
        steps=600,
        global_batch=32,
        seq_len=8192,
        lr=6e-5,
        min_lr=6e-5,
        warmup_steps=0,
        lr_schedule="constant",
        rope_base=1_000_000.0,
        short_doc_frac=0.4,
        short_doc_len=2048,
        eval_short_seq_len=2048,
        **{**common, "micro_batch_size": 2, "eval_every": 200},
    )
    return PretrainConfig(main=main, anneal=anneal, long=long)


def small_sft() -> SFTConfig:
    """Two stages on 4k-token packed rows, a 64-sequence global batch."""
    common = dict(
        seq_len=4096,
        micro_batch_size=4,
        global_batch=64,
        lr=5e-5,
        min_lr=5e-6,
        warmup_steps=50,
        mixed_precision=True,
        eval_every=500,
        ckpt_every=500,
        keep_last=3,
        log_every=10,
    )
    return SFTConfig(
        selection=SelectionConfig(embedder="use", keep_frac=0.3),
        stage1=SFTStageConfig(steps=3000, **common),
        stage2=SFTStageConfig(steps=1500, stage1_resample=0.2, long_cot_ratio=0.5, **common),
        eval_max_tokens=1024,
    )
