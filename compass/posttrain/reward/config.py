"""Reward-model settings (report §4.1): preference data, the runs that are averaged, Best-of-N.

The report trains four reward models that differ in epochs {1, 2}, learning rate {3e-6, 4e-6} and
schedule {linear, cosine}, and averages their weights. ``runs`` lists the runs as
``"epochs:lr:schedule"`` strings.

``base_run`` (empty in the report's recipe) first trains one reward model that every run then
starts from (the tiny recipe does: ``compass/recipes/tiny.py`` says why).

The defaults are the report's method (its four runs, the plain scalar head, no base run) and the
training loop's generic values; each recipe states its own schedule (``compass/recipes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
from compass.posttrain.schedule import epochs_base
from compass.posttrain.sft.config import SFTStageConfig
from compass.train.config import TrainConfig

SCHEDULES = ("linear", "cosine", "constant")


@dataclass
class RunSpec:
    epochs: float  # passes over the training pairs; a fraction trains on part of one pass
    lr: float
    schedule: str


def parse_run(text: str, where: str = "reward.runs") -> RunSpec:
    parts = text.split(":")
    try:
        spec = RunSpec(float(parts[0]), float(parts[1]), parts[2])
    except (IndexError, ValueError):
        raise ConfigError(
            f"{where}: {text!r} is not 'epochs:lr:schedule' (e.g. '2:4e-4:cosine')"
        ) from None
    if spec.epochs <= 0 or spec.lr <= 0 or spec.schedule not in SCHEDULES or len(parts) != 3:
        raise ConfigError(
            f"{where}: {text!r} needs epochs > 0, lr > 0 and a schedule in {SCHEDULES}"
        )
    return spec


def verifier_train() -> SFTStageConfig:
    """The generic verifier warm-up: the training loop's schedule without evaluation (the
    warm-up has no held-out set) or intermediate checkpoints."""
    return SFTStageConfig(eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1)


@dataclass
class RewardConfig(Config):
    seed: int = 1234
    # Preference pairs (TRL format, see compass.posttrain.formats): the training files, and the
    # held-out files; without held-out files, heldout_frac of the training prompts (a seeded
    # split by prompt: no prompt on both sides) is held out.
    inputs: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)
    heldout_frac: float = 0.1
    # Verifiable prompts (rows with "answer") Best-of-N is judged on; none = Best-of-N skipped.
    bon_prompts: list[str] = field(default_factory=list)
    base_run: str = ""
    runs: list[str] = field(
        default_factory=lambda: ["1:3e-6:linear", "1:4e-6:cosine", "2:3e-6:cosine", "2:4e-6:linear"]
    )
    # Add the backbone's own mean log-probability of the reply to the head's score, weighted by
    # likelihood_scale = [replies with reasoning, replies without] (trainable; see
    # compass.posttrain.reward.model.RewardModel); off = the plain scalar head. Deep starts at 5,
    # so that the term rather than the head decides among chains (docs/reward-model.md).
    likelihood_term: bool = False
    likelihood_scale: list[float] = field(default_factory=lambda: [5.0, 1.0])
    # False: the weight on replies without reasoning is trained, then zeroed in every model the
    # stage evaluates and saves (compass.posttrain.reward.run.drop_fast_likelihood): a reward DPO
    # can raise rather than the SFT policy's own mode, at some pairwise accuracy
    # (docs/reward-model.md).
    fast_likelihood_at_use: bool = False
    # The verifier warm-up (compass.posttrain.reward.verifier): before the runs, the backbone is
    # fine-tuned as an LM on the verified chat samples of verifier_inputs (any SFT format), so
    # that the likelihood term checks each step better than the policy wrote it. No inputs =
    # off: the runs start from the policy.
    verifier_inputs: list[str] = field(default_factory=list)
    verifier: SFTStageConfig = field(default_factory=verifier_train)
    # The LM anchor (compass.posttrain.reward.stage): each pairwise batch also packs lm_batch of
    # those solutions and adds lm_coef × their NLL, so the runs keep the verifier's LM. 0 = off.
    lm_coef: float = 0.0
    lm_batch: int = 8
    # On-policy math pairs (compass.posttrain.reward.onpolicy): the policy answers the verifiable
    # prompts of policy_prompts (in deep mode when bon_thinking) policy_samples times each at
    # bon_temperature; up to policy_pairs_per_prompt (right, wrong) pairs per prompt. No files =
    # off (the tiny recipe: docs/reward-model.md says why).
    policy_prompts: list[str] = field(default_factory=list)
    policy_samples: int = 8
    policy_pairs_per_prompt: int = 2
    warmup_frac: float = 0.1
    # The runs' base schedule: steps from each run's epochs, its lr from the run.
    train: TrainConfig = field(default_factory=epochs_base)
    # Best-of-N on the bon_prompts, sampled from the policy, in deep mode when bon_thinking (the
    # report's GSM8K-style check: answers with their reasoning).
    bon_n: list[int] = field(default_factory=lambda: [1, 4, 8, 16])
    bon_thinking: bool = True
    bon_temperature: float = 0.8
    bon_max_tokens: int = 512
    score_batch: int = 32  # sequences per reward forward when scoring samples

    def run_specs(self) -> list[RunSpec]:
        return [parse_run(r, f"reward.runs[{i}]") for i, r in enumerate(self.runs)]

    def validate(self) -> None:
        if self.policy_prompts and (self.policy_samples < 2 or self.policy_pairs_per_prompt < 1):
            raise ConfigError(
                "reward.policy_samples must be >= 2 and reward.policy_pairs_per_prompt >= 1 "
                "when reward.policy_prompts are given"
            )
        if not 0 <= self.heldout_frac < 1:
            raise ConfigError(f"reward.heldout_frac={self.heldout_frac}: must be in [0, 1)")
        if len(self.likelihood_scale) != 2:
            raise ConfigError(
                f"reward.likelihood_scale={self.likelihood_scale}: give two weights, "
                "[replies with reasoning, replies without], e.g. [5.0, 1.0]"
            )
        if self.lm_coef < 0 or self.lm_batch < 0:
            raise ConfigError("reward.lm_coef and reward.lm_batch must be >= 0 (0 turns each off)")
        if self.base_run:
            parse_run(self.base_run, "reward.base_run")
        if not self.runs:
            raise ConfigError("reward.runs is empty: give at least one 'epochs:lr:schedule'")
        self.run_specs()
        if not self.bon_n or min(self.bon_n) < 1 or max(self.bon_n) % min(self.bon_n):
            raise ConfigError(
                f"reward.bon_n={self.bon_n}: positive sizes, the largest a multiple of the others"
            )
        if any(max(self.bon_n) % n for n in self.bon_n):
            raise ConfigError(f"reward.bon_n={self.bon_n}: each N must divide the largest")
