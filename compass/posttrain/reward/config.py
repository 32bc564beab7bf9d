"""Reward-model settings (report §4.1): preference data, the runs that are averaged, Best-of-N.

The report trains four reward models that differ in epochs {1, 2}, learning rate {3e-6, 4e-6} and
schedule {linear, cosine}, and averages their weights. ``runs`` lists the runs as
``"epochs:lr:schedule"`` strings.

``base_run`` (empty in the report's recipe) first trains one reward model that every run then
starts from. A 1M-parameter model needs a few thousand pair-passes before it tells languages or
grounded facts apart at all (it sits near chance until then); four such runs from the policy do
not fit a CPU budget, four short runs from it learn nothing, and averaging them gave a soup below
its best run. So the tiny recipe trains the base once and its four runs are short fine-tunes of it
(a balanced half of the {¼, ½} epochs × two learning rates × {linear, cosine} grid), each reading
the pairs in its own order: close enough to one another for their average to be a good model.
Defaults are the tiny recipe's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config, ConfigError
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


def tiny_reward_train() -> TrainConfig:
    # micro_batch_size counts PAIRS (each pair is two sequences); steps come from the run's epochs.
    return TrainConfig(
        steps=1, micro_batch_size=8, seq_len=256, lr=3e-4, min_lr=0.0, warmup_steps=0,
        eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1, log_every=10,
        aux_coef=0.001, z_coef=0.0001,
    )  # fmt: skip


def tiny_verifier() -> SFTStageConfig:
    # ~45 packed chains per step: 213 steps ≈ one pass over 9,600 chains.
    return SFTStageConfig(
        steps=213, micro_batch_size=8, seq_len=512, lr=1e-3, min_lr=1e-4, warmup_steps=10,
        eval_every=0, eval_batches=0, ckpt_every=0, keep_last=1, log_every=20,
    )  # fmt: skip


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
    base_run: str = "2:1e-3:cosine"
    # Learning rates high enough for each run to wander from the base, so that the soup cancels
    # what they do not share (measured choice: docs/reward-model.md).
    runs: list[str] = field(
        default_factory=lambda: [
            "0.25:1e-3:linear", "0.25:2e-3:cosine", "0.5:1e-3:cosine", "0.5:2e-3:linear",
        ]
    )  # fmt: skip
    # Add the backbone's own mean log-probability of the reply to the head's score, weighted by
    # likelihood_scale = [replies with reasoning, replies without] (trainable; see
    # compass.posttrain.reward.model.RewardModel); off = the plain scalar head. Deep starts at 5: at 1 the
    # head (within-prompt spread ~0.2) outweighed the term (~0.1) on the policy's samples and
    # Best-of-16 fell below one sample; at 5 the term decides among chains.
    likelihood_term: bool = True
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
    verifier: SFTStageConfig = field(default_factory=tiny_verifier)
    # The LM anchor (compass.posttrain.reward.stage): each pairwise batch also packs lm_batch of those
    # solutions and adds lm_coef × their NLL, so the runs keep the verifier's LM. 0 = off.
    lm_coef: float = 1.0
    lm_batch: int = 8
    # On-policy math pairs (compass.posttrain.reward.onpolicy): the policy answers the verifiable
    # prompts of policy_prompts (in deep mode when bon_thinking) policy_samples times each at
    # bon_temperature; up to policy_pairs_per_prompt (right, wrong) pairs per prompt. No files =
    # off (the tiny recipe: docs/reward-model.md says why).
    policy_prompts: list[str] = field(default_factory=list)
    policy_samples: int = 8
    policy_pairs_per_prompt: int = 2
    warmup_frac: float = 0.1
    train: TrainConfig = field(default_factory=tiny_reward_train)
    # Best-of-N on the bon_prompts, sampled from the policy, in deep mode when bon_thinking (the
    # report's GSM8K-style check: answers with their reasoning).
    bon_n: list[int] = field(default_factory=lambda: [1, 4, 8, 16])
    bon_thinking: bool = True
    bon_temperature: float = 0.8
    bon_max_tokens: int = 64
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


def report_reward() -> RewardConfig:
    """The report's four runs ({1, 2} epochs × {3e-6, 4e-6} × {linear, cosine}, a balanced half)
    on full-length sequences."""
    train = TrainConfig(
        steps=1, micro_batch_size=4, global_batch=128, seq_len=4096, lr=3e-6, min_lr=0.0,
        warmup_steps=0, eval_every=0, eval_batches=0, ckpt_every=500, keep_last=1,
        log_every=10, aux_coef=0.001, z_coef=0.0001, mixed_precision=True,
    )  # fmt: skip
    return RewardConfig(
        likelihood_term=False, lm_coef=0.0,
        base_run="",
        runs=["1:3e-6:linear", "1:4e-6:cosine", "2:3e-6:cosine", "2:4e-6:linear"],
        train=train, bon_temperature=1.0, bon_max_tokens=1024,
        score_batch=16,
    )  # fmt: skip
