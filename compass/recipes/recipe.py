"""The root config: one tree holding every stage's config, so one dotted override reaches any leaf.

A field left out takes its stage's neutral default; each named recipe in this package states its
schedules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compass.config import Config
from compass.data.curation.config import CurationConfig
from compass.data.shards.config import ShardsConfig
from compass.data.synth.config import DataGenConfig
from compass.data.synth.tasks.config import TasksConfig
from compass.eval.config import EvalConfig
from compass.model.config import ModelConfig
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.reward.config import RewardConfig
from compass.posttrain.sft.config import SFTConfig
from compass.pretrain.config import PretrainConfig
from compass.quant.config import QuantConfig
from compass.serve.config import ServeConfig
from compass.tokenizer.config import TokenizerConfig


@dataclass
class Recipe(Config):
    name: str = "custom"
    seed: int = 1234
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    datagen: DataGenConfig = field(default_factory=DataGenConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    curation: CurationConfig = field(default_factory=CurationConfig)
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    dpo: DPOConfig = field(default_factory=DPOConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
