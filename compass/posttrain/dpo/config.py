"""Online-DPO settings (report §4.2).

Each round samples ``n_samples`` answers per prompt from the current policy (report: n = 32, a
relatively high temperature, a new seed per sample), scores them with the reward model, checks
answers by rule where the prompt has a reference ``answer``, builds pairs and trains with the DPO
loss against the frozen reference (the policy the stage started from). The defaults are the
report's method (32 samples at temperature 1.0, plain DPO, prompts without a correct sample
dropped) with generic lengths; each recipe states its own (``compass/recipes``). Why the tiny
recipe uses reference solutions, NLL α 5 and lr 3e-5, with the figures: ``docs/reward-model.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.posttrain.schedule import epochs_base
from compass.train.config import TrainConfig

MODES = ("fast", "deep")
GENERAL_RULES = ("max_min", "max_median")


@dataclass
class DPOConfig(Config):
    seed: int = 1234
    # Prompt files (see compass.posttrain.formats): the training prompts, split into ``rounds``
    # consecutive slices in file order (each round samples new prompts), and the held-out
    # prompts; without held-out files, heldout_frac of the prompts is held out (seeded).
    prompts: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)
    heldout_frac: float = 0.1
    rounds: int = 3
    n_samples: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    # The modes each math prompt is answered in (``deep``: with a think block, up to
    # ``deep_max_tokens``): a pair is made per prompt and mode, so the policy learns from its
    # right and wrong chains and its right and wrong direct answers.
    math_modes: list[str] = field(default_factory=lambda: ["fast", "deep"])
    deep_max_tokens: int = 1024
    # A math prompt with no correct sample: dropped (False, the report's rule), or paired with its
    # reference solution as the chosen answer (True; compass.posttrain.dpo.reference).
    math_reference: bool = False
    # General prompts: chosen = highest reward; rejected = lowest (max_min) or the median
    # (max_median, a gentler pair); pairs whose reward gap is below min_margin are skipped.
    general_rule: str = "max_min"
    min_margin: float = 0.05
    # An answer not in the prompt's language is never chosen (the report's on-language rule).
    require_language: bool = True
    beta: float = 0.1
    # Weight of the chosen response's per-token NLL added to the DPO loss (Pang et al. 2024,
    # "Iterative Reasoning Preference Optimization"); 0 = plain DPO.
    nll_alpha: float = 0.0
    epochs: int = 1  # passes over each round's pairs
    # Each round's base schedule: steps from the round's pairs × epochs, a constant lr.
    train: TrainConfig = field(
        default_factory=lambda: epochs_base(lr=5e-7, min_lr=5e-7, lr_schedule="constant")
    )
    # Held-out evaluation: generation budget (greedy).
    eval_max_tokens: int = 512
    eval_deep_max_tokens: int = 1024

    def validate(self) -> None:
        if not 0 <= self.heldout_frac < 1:
            raise ConfigError(f"dpo.heldout_frac={self.heldout_frac}: must be in [0, 1)")
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
