"""The on-disk shard format: one uint32 token memmap and one index per split.

```
shards/
  meta.json              format version, tokenizer (hash, vocab size, eos/bos), split sizes,
                         the lang/domain code tables, the max token id
  train.tokens.bin       uint32 tokens of every training document, back to back (each ends in EOS)
  train.index.npz        offsets[n+1] int64, lang int16, domain int16, quality f32, weight f32,
                         dup_count int32 — one row per document
  val.tokens.bin / val.index.npz   the held-out validation split, same layout
```
uint32 because the report's vocabulary (180k) does not fit uint16. Readers memory-map the tokens,
so a shard set larger than RAM costs nothing to open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
META = "meta.json"
SPLITS = ("train", "val")


def tokens_path(root: Path, split: str) -> Path:
    return root / f"{split}.tokens.bin"


def index_path(root: Path, split: str) -> Path:
    return root / f"{split}.index.npz"


class ShardError(ValueError):
    """Shards that are missing, corrupt or do not match the tokenizer/model; says how to fix it."""


@dataclass
class SplitIndex:
    """The per-document index of one split plus its memory-mapped tokens."""

    tokens: np.ndarray  # uint32 memmap
    offsets: np.ndarray  # int64 [n_docs + 1]
    lang: np.ndarray  # int16 codes into meta["langs"]
    domain: np.ndarray  # int16 codes into meta["domains"]
    quality: np.ndarray  # float32 in [0, 1]
    weight: np.ndarray  # float32 repetition weight from curation's resampling
    dup_count: np.ndarray  # int32

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def read_meta(root: str | Path) -> dict:
    root = Path(root)
    path = root / META
    if not path.exists():
        raise ShardError(
            f"{root}: no {META} — not a shard directory; build one with "
            "`compass data tokenize --curated DIR --tokenizer DIR --out DIR`"
        )
    meta = json.loads(path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ShardError(
            f"{path}: format_version={meta.get('format_version')} but this code reads "
            f"{FORMAT_VERSION}; re-run `compass data tokenize`"
        )
    return meta


def open_split(root: str | Path, split: str) -> SplitIndex:
    root = Path(root)
    meta = read_meta(root)
    tok, idx = tokens_path(root, split), index_path(root, split)
    if not tok.exists() or not idx.exists():
        raise ShardError(f"{root}: split '{split}' is missing ({tok.name}, {idx.name})")
    with np.load(idx) as z:
        arrays = {k: z[k] for k in z.files}
    n_tokens = tok.stat().st_size // 4
    if n_tokens != int(arrays["offsets"][-1]) or n_tokens != meta["splits"][split]["n_tokens"]:
        raise ShardError(
            f"{tok}: holds {n_tokens} tokens but {idx.name} says {int(arrays['offsets'][-1])} — "
            "the shard directory is incomplete or corrupt; re-run `compass data tokenize`"
        )
    tokens = np.memmap(tok, dtype=np.uint32, mode="r") if n_tokens else np.zeros(0, dtype=np.uint32)
    return SplitIndex(tokens=tokens, **arrays)


def check_vocab(meta: dict, vocab_size: int, root: str | Path, field: str = "model.vocab_size"):
    """Tokens the model cannot embed mean the shards came from another tokenizer."""
    max_id = int(meta.get("max_token_id", -1))
    if max_id >= vocab_size:
        raise ShardError(
            f"{Path(root) / META}: shards hold token id {max_id} (tokenizer vocab "
            f"{meta['tokenizer']['vocab_size']}) but {field}={vocab_size} — the shards were "
            "made with a different tokenizer; re-tokenise with this tokenizer or set "
            f"--{field}={meta['tokenizer']['vocab_size']}"
        )
