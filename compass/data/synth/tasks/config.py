"""How much task data ``compass data tasks`` writes from the world, per language.

The counts here are generator settings only: the post-training stages read whatever files they
are given and have no knowledge of these numbers. The defaults write a small set (a few hundred
rows per language) to look at; each recipe states its own counts (``compass/recipes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.languages import LANGS

PAIR_KINDS = ("arithmetic", "language", "grounding", "fluency")
PROMPT_SETS = ("general", "badcase", "math", "ecommerce")
MATH_TASKS = ("cart", "numerical_reasoning")


@dataclass
class SFTTasksConfig(Config):
    stage1_per_lang: int = 100  # general instructions (ten categories, e-commerce tasks)
    # Share of stage 1 that is the twelve e-commerce tasks; the rest is split evenly over the
    # other categories (product copy, brand profiles, reviews, shop policies, code, safety, math,
    # dialogue).
    stage1_ecommerce_share: float = 0.5
    stage2_per_lang: int = 50  # e-commerce augmentation, role play, function calling
    cart_cot_per_lang: int = 100  # long-CoT shopping-cart arithmetic (deep mode)
    cart_fast_per_lang: int = 50  # the same kind of problems answered directly (fast mode)
    math_cot_per_lang: int = 20  # the generator's step-by-step problems, deep mode
    eval_cart_per_lang: int = 20  # held-out arithmetic problems (deep vs fast evaluation)
    eval_language_per_lang: int = 4  # held-out generative prompts (answer-language check)

    def validate(self) -> None:
        if not 0 <= self.stage1_ecommerce_share <= 1:
            raise ConfigError(
                f"tasks.sft.stage1_ecommerce_share={self.stage1_ecommerce_share}: must be in [0, 1]"
            )


@dataclass
class RewardTasksConfig(Config):
    kinds: list[str] = field(default_factory=lambda: list(PAIR_KINDS))
    train_pairs_per_lang_kind: int = 32
    # Per-kind training pairs per language where they differ from train_pairs_per_lang_kind.
    kind_pairs_per_lang: dict[str, int] = field(default_factory=dict)
    heldout_pairs_per_lang_kind: int = 8
    # Right step-by-step cart chains in deep mode for the reward model's verifier warm-up (0: none,
    # no warm-up).
    verifier_chains: int = 0
    # Verifiable math prompts Best-of-N is judged on ("cart" or "numerical_reasoning").
    bon_task: str = "cart"
    bon_prompts_per_lang: int = 4
    # Training math prompts the policy answers for on-policy pairs (0: no file written).
    policy_prompts_per_lang: int = 0

    def validate(self) -> None:
        bad = [k for k in [*self.kinds, *self.kind_pairs_per_lang] if k not in PAIR_KINDS]
        if bad:
            raise ConfigError(f"tasks.reward: unknown pair kinds {bad}; choose from {PAIR_KINDS}")
        if self.bon_task not in MATH_TASKS:
            raise ConfigError(f"tasks.reward.bon_task={self.bon_task!r}: choose from {MATH_TASKS}")


@dataclass
class DPOTasksConfig(Config):
    # Written in round order: with dpo.rounds = rounds each round reads its own slice.
    rounds: int = 3
    # Prompts per language and round for each set (report: general, bad-case, math, e-commerce).
    prompts_per_lang: dict[str, int] = field(
        default_factory=lambda: {"general": 4, "badcase": 2, "math": 8, "ecommerce": 4}
    )
    math_task: str = "cart"
    eval_math_per_lang: int = 16
    eval_general_per_lang: int = 4

    def validate(self) -> None:
        bad = [k for k in self.prompts_per_lang if k not in PROMPT_SETS]
        if bad:
            raise ConfigError(
                f"tasks.dpo.prompts_per_lang: unknown sets {bad}; choose {PROMPT_SETS}"
            )
        if self.math_task not in MATH_TASKS:
            raise ConfigError(f"tasks.dpo.math_task={self.math_task!r}: choose from {MATH_TASKS}")


@dataclass
class TasksConfig(Config):
    seed: int = 1234
    langs: list[str] = field(default_factory=lambda: list(LANGS))
    sft: SFTTasksConfig = field(default_factory=SFTTasksConfig)
    reward: RewardTasksConfig = field(default_factory=RewardTasksConfig)
    dpo: DPOTasksConfig = field(default_factory=DPOTasksConfig)

    def validate(self) -> None:
        bad = [x for x in self.langs if x not in LANGS]
        if bad:
            raise ConfigError(f"tasks.langs: unknown {bad}; choose from {', '.join(LANGS)}")
