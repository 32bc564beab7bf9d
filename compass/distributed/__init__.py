"""Parallelism applied from outside the model: the process group, FSDP2, and the parallel engine
(one mesh over ``train.parallel.{dp_shard, ep, pp, cp}``: expert, pipeline and context parallel,
activation checkpointing) with checkpoints any layout can read."""

from compass.distributed.env import DistInfo, init_distributed, shutdown

__all__ = ["DistInfo", "init_distributed", "shutdown"]
