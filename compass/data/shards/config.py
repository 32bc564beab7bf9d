"""Settings of ``compass data tokenize`` (curated parquet -> token shards)."""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError


@dataclass
class ShardsConfig(Config):
    # Documents go to the held-out split by a hash of their id, so the split is stable when the
    # corpus grows and never depends on file order.
    val_fraction: float = 0.02
    # At least this many validation documents even on a tiny corpus (evaluation needs some).
    min_val_docs: int = 8
    # Encode this many documents per tokenizer call (encode_batch parallelises inside).
    batch_docs: int = 512
    # Prepend BOS to every document (EOS is always appended so documents stay delimited).
    add_bos: bool = False
    # Documents with fewer tokens than this are dropped (counted in the report).
    min_doc_tokens: int = 1

    def validate(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"shards.val_fraction={self.val_fraction} must be in [0, 1)")
        if self.batch_docs <= 0:
            raise ConfigError(f"shards.batch_docs={self.batch_docs} must be positive")
