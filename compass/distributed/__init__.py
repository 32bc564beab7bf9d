"""Parallelism applied from outside the model: process group, FSDP2, distributed checkpoints."""

from compass.distributed.env import DistInfo, init_distributed, shutdown

__all__ = ["DistInfo", "init_distributed", "shutdown"]
