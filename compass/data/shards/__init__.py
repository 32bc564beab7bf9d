"""Token shards: curated parquet -> uint32 memmaps + index, and the packed training loader."""

from compass.data.shards.config import ShardsConfig
from compass.data.shards.format import ShardError, check_vocab, open_split, read_meta
from compass.data.shards.loader import LoaderSpec, PackedLoader
from compass.data.shards.writer import tokenize_curated

__all__ = [
    "LoaderSpec",
    "PackedLoader",
    "ShardError",
    "ShardsConfig",
    "check_vocab",
    "open_split",
    "read_meta",
    "tokenize_curated",
]
