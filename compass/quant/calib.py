"""Calibration token sequences for AWQ, from whatever the user has at hand.

``load_calibration(source, n_samples, seq_len, tokenizer=None)`` returns ``int64 [n, T]``:
- a ``.jsonl`` file whose rows have a ``text`` field, tokenized with ``tokenizer`` (a directory
  ``compass.tokenizer.load_tokenizer`` reads; required for text);
- a token-shard directory written by ``compass data tokenize`` (its ``meta.json``; the ``val``
  split when it has tokens, else ``train``);
- a ``.npy`` or ``.pt`` file of token ids (any shape; flattened), e.g. a held-out slice.
Documents are joined into one stream (each ending in EOS where the tokenizer knows it) and cut
into ``n_samples`` evenly spaced windows of ``seq_len`` tokens (fewer when the stream is short).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from compass.config import ConfigError

log = logging.getLogger(__name__)


def load_calibration(
    source: str | Path,
    n_samples: int,
    seq_len: int,
    tokenizer: str | Path | None = None,
    vocab_size: int | None = None,
) -> torch.Tensor:
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"calibration source {path} does not exist")
    if path.is_dir():
        stream = _shard_stream(path)
    elif path.suffix == ".jsonl":
        stream = _jsonl_stream(path, tokenizer)
    elif path.suffix == ".npy":
        stream = np.load(path).reshape(-1)
    elif path.suffix == ".pt":
        stream = torch.load(path, weights_only=True).reshape(-1).numpy()
    else:
        raise ConfigError(
            f"{path}: calibration data must be a .jsonl with 'text' (plus --tokenizer DIR), a "
            "token-shard directory from `compass data tokenize`, or a .npy/.pt of token ids"
        )
    ids = torch.as_tensor(np.asarray(stream, dtype=np.int64))
    if vocab_size is not None and ids.numel() and int(ids.max()) >= vocab_size:
        raise ConfigError(
            f"{path}: token id {int(ids.max())} >= model vocab_size {vocab_size} — the "
            "calibration data was tokenized with another tokenizer"
        )
    return windows(ids, n_samples, seq_len)


def windows(ids: torch.Tensor, n_samples: int, seq_len: int) -> torch.Tensor:
    """``n_samples`` evenly spaced windows of ``seq_len`` tokens from a 1-D stream."""
    if ids.numel() < 2:
        raise ConfigError("calibration data holds fewer than 2 tokens")
    seq_len = min(seq_len, ids.numel())
    n = min(n_samples, ids.numel() // seq_len)
    starts = torch.linspace(0, ids.numel() - seq_len, n).long()
    if n < n_samples:
        log.warning("calibration stream has %d tokens: using %d windows", ids.numel(), n)
    return torch.stack([ids[s : s + seq_len] for s in starts.tolist()])


def _jsonl_stream(path: Path, tokenizer: str | Path | None) -> np.ndarray:
    if tokenizer is None:
        raise ConfigError(f"{path}: text calibration data needs --tokenizer DIR to encode it")
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer)
    texts = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "text" not in row:
                raise ConfigError(f"{path}:{i}: row has no 'text' field (keys: {sorted(row)})")
            texts.append(row["text"])
    encoded = tok.encode_batch(texts, add_eos=True)
    return np.fromiter((t for doc in encoded for t in doc), dtype=np.int64)


def _shard_stream(path: Path) -> np.ndarray:
    from compass.data.shards.format import open_split, read_meta

    meta = read_meta(path)
    split = "val" if meta["splits"].get("val", {}).get("n_tokens", 0) > 0 else "train"
    return np.asarray(open_split(path, split).tokens)
