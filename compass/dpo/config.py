"""Online-DPO settings (report §4.2). Defaults are the tiny recipe's values.

Each round samples ``n_samples`` answers per prompt from the current policy (report: n = 32, a
relatively high temperature, a new seed per sample), scores them with the reward model, checks
math answers by rule, builds pairs and trains with the DPO loss against the frozen reference
(the policy the stage started from).

Tiny values: a tiny policy solves few cart problems in fast mode (about 1 sample in 20) and
~45% in deep mode, so math takes 8 prompts per language per round, each answered in both modes,
and a prompt with no right sample is paired with its reference solution (``math_reference``; the
report drops it). Every update flips some of the tiny policy's fragile arithmetic facts: at lr
1e-4 greedy deep-mode math on held-out prompts fell 6-16 points (plain DPO, NLL α 1 or 5,
with or without general prompts, with reference solutions); at 3e-5 plain DPO or α 1 cost 1-2
prompts in each mode, and α 5 with reference solutions gained one prompt in each (of 128); with
seeds 7 and 99 deep mode gained 5 prompts each, fast mode moved +3 / -1. 128 held-out math
prompts. Those figures are with the plain-head reward model; with the verifier reward model
(2026-11-30, README, docs/reward-model.md) seeds 1234 / 7 / 99 raised the mean reward by
0.08 / 0.14 / 0.02 and moved fast-mode math +2 / +6 / 0 and deep-mode math -2 / +1 / 0 prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.reward.config import LANGS
from compass.reward.math_items import MATH_TASKS
from compass.train.config import TrainConfig

PROMPT_SETS = ("general", "badcase", "math", "ecommerce")
MODES = ("fast", "deep")
GENERAL_RULES = ("max_min", "max_median")


def tiny_dpo_train() -> TrainConfig:
    # micro_batch_size counts PAIRS; steps come from the pairs a round produced × epochs.
    return TrainConfig(
        steps=1, micro_batch_size=8, seq_len=256, lr=3e-5, min_lr=3e-5, warmup_steps=0,
        lr_schedule="constant", eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1,
        log_every=5, aux_coef=0.001, z_coef=0.0001,
    )  # fmt: skip


@dataclass
class DPOConfig(Config):
    seed: int = 1234
    langs: list[str] = field(default_factory=lambda: list(LANGS))
    rounds: int = 3
    n_samples: int = 8
    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 32
    # Prompts per language and round for each set (report: general, bad-case, math, e-commerce).
    prompts_per_lang: dict[str, int] = field(
        default_factory=lambda: {"general": 2, "badcase": 1, "math": 8, "ecommerce": 2}
    )
    # Where math prompts come from (compass.reward.math_items): "cart" or "numerical_reasoning".
    math_task: str = "cart"
    # The modes each math prompt is answered in (``deep``: with a think block, up to
    # ``deep_max_tokens``): a pair is made per prompt and mode, so the policy learns from its
    # right and wrong chains and its right and wrong direct answers.
    math_modes: list[str] = field(default_factory=lambda: ["fast", "deep"])
    deep_max_tokens: int = 64
    # Extra prompts: JSONL of {"prompt", "lang"?, "set"?, "answer"?, "answer_minor"?,
    # "currency"?}; a prompt with "set": "math" needs "answer" (else it is skipped, counted).
    prompt_files: list[str] = field(default_factory=list)
    # A math prompt with no correct sample: dropped (False, the report's rule), or paired with its
    # reference solution as the chosen answer (True; compass.dpo.reference).
    math_reference: bool = True
    # General prompts: chosen = highest reward; rejected = lowest (max_min) or the median
    # (max_median, a gentler pair); pairs whose reward gap is below min_margin are skipped.
    general_rule: str = "max_min"
    min_margin: float = 0.05
    # An answer not in the prompt's language is never chosen (the report's on-language rule).
    require_language: bool = True
    beta: float = 0.1
    # Weight of the chosen response's per-token NLL added to the DPO loss (Pang et al. 2024,
    # "Iterative Reasoning Preference Optimization"); 0 = plain DPO.
    nll_alpha: float = 5.0
    epochs: int = 2  # passes over each round's pairs
    train: TrainConfig = field(default_factory=tiny_dpo_train)
    # Held-out evaluation: math prompts per language and generation budget (greedy).
    eval_math_per_lang: int = 16  # 128 prompts: one more right answer is 0.8 points
    eval_general_per_lang: int = 2
    eval_max_tokens: int = 32
    eval_deep_max_tokens: int = 64

    def validate(self) -> None:
        bad = [x for x in self.langs if x not in LANGS]
        if bad:
            raise ConfigError(f"dpo.langs: unknown {bad}; choose from {', '.join(LANGS)}")
        bad = [k for k in self.prompts_per_lang if k not in PROMPT_SETS]
        if bad:
            raise ConfigError(
                f"dpo.prompts_per_lang: unknown sets {bad}; choose from {', '.join(PROMPT_SETS)}"
            )
        if self.math_task not in MATH_TASKS:
            raise ConfigError(
                f"dpo.math_task={self.math_task!r}: choose from {', '.join(MATH_TASKS)}"
            )
        if self.general_rule not in GENERAL_RULES:
            raise ConfigError(
                f"dpo.general_rule={self.general_rule!r}: choose {', '.join(GENERAL_RULES)}"
            )
        bad = [m for m in self.math_modes if m not in MODES]
        if bad or not self.math_modes:
            raise ConfigError(
                f"dpo.math_modes={self.math_modes}: give one or more of {', '.join(MODES)}"
            )
        if self.nll_alpha < 0:
            raise ConfigError(f"dpo.nll_alpha={self.nll_alpha}: must be >= 0 (0 = plain DPO)")
        if self.n_samples < 2:
            raise ConfigError(f"dpo.n_samples={self.n_samples}: a pair needs at least 2 samples")
        if self.rounds < 1 or self.beta <= 0 or self.epochs < 1:
            raise ConfigError("dpo.rounds and dpo.epochs must be >= 1 and dpo.beta > 0")


def report_dpo() -> DPOConfig:
    """The report's sampling: n = 32 answers per prompt at a relatively high temperature, and its
    plain DPO loss (no NLL term)."""
    train = TrainConfig(
        steps=1, micro_batch_size=2, global_batch=64, seq_len=4096, lr=5e-7, min_lr=5e-7,
        warmup_steps=0, lr_schedule="constant", eval_every=0, eval_batches=0, ckpt_every=200,
        keep_last=1, log_every=10, aux_coef=0.001, z_coef=0.0001, mixed_precision=True,
    )  # fmt: skip
    return DPOConfig(
        rounds=3, n_samples=32, temperature=1.0, max_tokens=2048, deep_max_tokens=4096,
        nll_alpha=0.0, train=train,
        math_task="numerical_reasoning",
        prompts_per_lang={"general": 500, "badcase": 100, "math": 500, "ecommerce": 300},
        eval_math_per_lang=100, eval_general_per_lang=50, eval_max_tokens=1024,
        eval_deep_max_tokens=4096, math_reference=False,
    )  # fmt: skip
