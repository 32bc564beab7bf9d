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
from compass.eval.niah_stages import NiahStagesConfig
from compass.model.config import ModelConfig
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.reward.config import RewardConfig
from compass.posttrain.sft.config import SelectionConfig, SFTConfig, SFTStageConfig
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.quant.config import QuantConfig
from compass.recipes.recipe import Recipe
from compass.tokenizer.config import TokenizerConfig
from compass.train.config import TrainConfig


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
        # The built-in generator's corpus: ~12 MB of documents, a few million tokens at 4k vocab,
        # generated in seconds on one core; each product's facts recur ~2x per language.
        datagen=DataGenConfig(
            n_products=500, n_shops=60, n_users=300, n_docs=36_000, eval_items_per_task=25
        ),
        # One BPE over every language, trained on at most 20k lines / 2 MB per language.
        tokenizer=TokenizerConfig(
            vocab_size=4096, max_lines_per_lang=20_000, max_bytes_per_lang=2_000_000
        ),
        pretrain=tiny_pretrain(),
        tasks=tiny_tasks(),
        sft=tiny_sft(),
        reward=tiny_reward(),
        dpo=tiny_dpo(),
        # Input dims of 128: group 32 keeps INT4 group-wise rather than per-channel.
        quant=QuantConfig(group_size=32),
        # A dozen items per task and language: minutes, and every language and e-commerce
        # category still counts.
        eval=EvalConfig(items_per_lang=12),
    )


# Aux/z coefficients of the tiny pretraining stages. The report's maxima (0.01 / 0.001) suit 48
# experts over thousands of steps; with 8 experts trained 450 steps a 3x higher aux start
# decaying to 0.01 balances the experts better in every layer (the settings compared:
# docs/expert-balance.md); anneal and long hold main's final values to keep the balance.
# Evaluation reads 16-24k held-out tokens, enough for a steady per-layer load figure.
TINY_MAIN_COEFS = dict(aux_coef=0.03, z_coef=0.001, coef_final_frac=1 / 3)
TINY_LATER_COEFS = dict(aux_coef=0.01, z_coef=0.001 / 3, coef_final_frac=1.0)


def tiny_pretrain() -> PretrainConfig:
    """A couple of minutes per stage on 2 CPU cores: 450 steps × 8 × 256 tokens, a 100-step
    anneal at batch ×1.5, 30 long-context steps of 2 × 1024 tokens."""
    main = PretrainStageConfig(
        steps=450, micro_batch_size=8, seq_len=256, lr=3e-3, min_lr=3e-4, warmup_steps=15,
        eval_every=75, ckpt_every=50, eval_batches=12, **TINY_MAIN_COEFS,
    )  # fmt: skip
    # Report: re-warmup to half the main peak, decay to the floor, batch ×1.5, HQ data only.
    anneal = PretrainStageConfig(
        steps=100, micro_batch_size=12, seq_len=256, lr=1.5e-3, min_lr=3e-4, warmup_steps=10,
        hq_only=True, eval_every=50, ckpt_every=30, eval_batches=8, **TINY_LATER_COEFS,
    )  # fmt: skip
    # Report: RoPE 10k -> 1M, 4k -> 32k tokens, 40% short / 60% long documents, constant 3e-5.
    # Here 4x the main context: the needle eval's lengths up to it fit the minutes budget, and
    # two sequences a step keep the stage's tokens per step.
    long = PretrainStageConfig(
        steps=30, micro_batch_size=2, seq_len=1024, lr=3e-4, min_lr=3e-4, warmup_steps=0,
        lr_schedule="constant", rope_base=1_000_000.0, short_doc_frac=0.4, short_doc_len=256,
        eval_every=0, ckpt_every=15, eval_batches=8, eval_short_seq_len=256, **TINY_LATER_COEFS,
    )  # fmt: skip
    return PretrainConfig(main=main, anneal=anneal, long=long)


def tiny_tasks() -> TasksConfig:
    """The generated post-training files, per language: enough cart chains for deep mode to pull
    ahead of fast mode, and 9,600 verified chains for the reward model's verifier warm-up."""
    return TasksConfig(
        sft=SFTTasksConfig(stage1_per_lang=240, stage2_per_lang=80, cart_cot_per_lang=300,
                           cart_fast_per_lang=150, math_cot_per_lang=20, eval_cart_per_lang=25,
                           eval_language_per_lang=25),
        reward=RewardTasksConfig(train_pairs_per_lang_kind=36, heldout_pairs_per_lang_kind=12,
                                 verifier_chains=9600, bon_prompts_per_lang=4),
        dpo=DPOTasksConfig(rounds=3,
                           prompts_per_lang={"general": 4, "badcase": 1, "math": 8, "ecommerce": 4},
                           eval_math_per_lang=32, eval_general_per_lang=4),
    )  # fmt: skip


def tiny_sft() -> SFTConfig:
    """Hash embeddings (USE does not fit the minutes budget); stage 2 long enough for deep mode to
    pull clearly ahead of fast mode on held-out cart problems (README, "What the tiny models
    show")."""
    return SFTConfig(
        selection=SelectionConfig(embedder="hash", keep_frac=0.7),
        stage1=SFTStageConfig(
            steps=40, micro_batch_size=4, seq_len=512, lr=2e-3, min_lr=2e-4, warmup_steps=4,
            eval_every=0, eval_batches=2, ckpt_every=40, log_every=10,
        ),
        stage2=SFTStageConfig(
            steps=960, micro_batch_size=4, seq_len=512, lr=3e-3, min_lr=1e-4, warmup_steps=10,
            eval_every=0, eval_batches=2, ckpt_every=240, log_every=20, stage1_resample=0.2,
            long_cot_ratio=1.0,
        ),
        eval_max_tokens=48,
    )  # fmt: skip


def tiny_reward() -> RewardConfig:
    """A 1M-parameter model needs a few thousand pair-passes before it tells languages or grounded
    facts apart at all (it sits near chance until then); four such runs from the policy do not
    fit a CPU budget, four short runs from it learn nothing, and averaging them gave a soup below
    its best run. So the base run trains once and the four runs are short fine-tunes of it (a
    balanced half of the {¼, ½} epochs × two learning rates × {linear, cosine} grid), each
    reading the pairs in its own order: close enough to one another for their average to be a
    good model. Their learning rates are high enough for each run to wander from the base, so
    that the soup cancels what they do not share (docs/reward-model.md). The likelihood term and
    the verifier warm-up with its LM anchor: ``compass.posttrain.reward.config``."""
    # micro_batch_size counts PAIRS (each pair is two sequences); steps come from the run's epochs.
    train = TrainConfig(
        steps=1, micro_batch_size=8, seq_len=256, lr=3e-4, min_lr=0.0, warmup_steps=0,
        eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1, log_every=10,
        aux_coef=0.001, z_coef=0.0001,
    )  # fmt: skip
    # ~45 packed chains per step: 213 steps ≈ one pass over 9,600 chains.
    verifier = SFTStageConfig(
        steps=213, micro_batch_size=8, seq_len=512, lr=1e-3, min_lr=1e-4, warmup_steps=10,
        eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1, log_every=20,
    )  # fmt: skip
    return RewardConfig(
        base_run="2:1e-3:cosine",
        runs=["0.25:1e-3:linear", "0.25:2e-3:cosine", "0.5:1e-3:cosine", "0.5:2e-3:linear"],
        likelihood_term=True, likelihood_scale=[5.0, 1.0],
        verifier=verifier, lm_coef=1.0, lm_batch=8,
        train=train,
        bon_n=[1, 4, 8, 16], bon_temperature=0.8, bon_max_tokens=64,
    )  # fmt: skip


def tiny_dpo() -> DPOConfig:
    """Three rounds of 8 samples per prompt, short answers; reference solutions, NLL α 5 and a
    constant lr 3e-5 (why, with the figures: docs/reward-model.md)."""
    # micro_batch_size counts PAIRS; steps come from the pairs a round produced × epochs.
    train = TrainConfig(
        steps=1, micro_batch_size=8, seq_len=256, lr=3e-5, min_lr=3e-5, warmup_steps=0,
        lr_schedule="constant", eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1,
        log_every=5, aux_coef=0.001, z_coef=0.0001,
    )  # fmt: skip
    return DPOConfig(
        rounds=3, n_samples=8, temperature=0.8, max_tokens=32, deep_max_tokens=64,
        math_reference=True, min_margin=0.05, nll_alpha=5.0, epochs=2, train=train,
        eval_max_tokens=32, eval_deep_max_tokens=64,
    )  # fmt: skip


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
        # A 1k-vocab needle and question take ~100 tokens: the needle grid starts where it fits.
        eval=EvalConfig(items_per_lang=2, niah=NiahStagesConfig(min_length=192)),
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
    """Seconds: tiny's four short runs, Best-of-N up to 4."""
    cfg = tiny_reward()
    cfg.bon_n, cfg.bon_max_tokens, cfg.lm_batch = [1, 2, 4], 8, 2
    cfg.train.micro_batch_size = 4
    cfg.verifier.steps, cfg.verifier.micro_batch_size, cfg.verifier.warmup_steps = 2, 2, 0
    return cfg


def micro_dpo() -> DPOConfig:
    """Seconds: tiny's DPO in one round, 4 samples per prompt, short answers."""
    cfg = tiny_dpo()
    cfg.rounds, cfg.n_samples = 1, 4
    cfg.max_tokens = cfg.deep_max_tokens = cfg.eval_max_tokens = cfg.eval_deep_max_tokens = 8
    cfg.min_margin = 0.0  # a micro reward model's scores barely spread: still train on its pairs
    return cfg
