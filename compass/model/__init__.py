"""The Compass MoE transformer (single device; parallelism is applied from compass.distributed)."""

from compass.model.config import ModelConfig
from compass.model.kv_cache import KVCache
from compass.model.transformer import CompassModel, ModelOutput

__all__ = ["CompassModel", "KVCache", "ModelConfig", "ModelOutput"]
