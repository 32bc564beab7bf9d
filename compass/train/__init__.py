"""The one training loop every stage uses: a Stage supplies batches and a loss, the Trainer does
the rest (optimizer, schedules, clipping, accumulation, evaluation, checkpoints, logging)."""

from compass.train.config import TrainConfig
from compass.train.loop import Trainer, TrainingError, TrainResult
from compass.train.stage import Batch, LossOutput, Stage, count_label_tokens, lm_loss

__all__ = [
    "Batch",
    "LossOutput",
    "Stage",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "count_label_tokens",
    "lm_loss",
]
