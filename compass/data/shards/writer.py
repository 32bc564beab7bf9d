"""Curated parquet -> token shards (see ``format.py`` for the layout).

Streams the parquet files in name order, encodes documents in batches, appends EOS-terminated
token runs to ``{split}.tokens.bin`` and records the per-document index. Everything is written
under a temporary directory and renamed into place at the end, so an interrupted run never
leaves a shard set that looks complete.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from compass.data.shards.config import ShardsConfig
from compass.data.shards.format import (
    FORMAT_VERSION,
    META,
    SPLITS,
    ShardError,
    index_path,
    tokens_path,
)
from compass.utils.io import atomic_write_json
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)

REQUIRED = ("text", "id")
DEFAULTS: dict[str, Any] = {
    "lang": "unk",
    "domain": "unk",
    "quality": 1.0,
    "weight": 1.0,
    "dup_count": 1,
}


class Tokenizer(Protocol):
    eos_id: int
    bos_id: int | None
    vocab_size: int

    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...


def is_val(doc_id: str, fraction: float) -> bool:
    h = int.from_bytes(hashlib.blake2b(str(doc_id).encode(), digest_size=8).digest(), "little")
    return (h % 1_000_000) < fraction * 1_000_000


def _parquet_files(curated: Path) -> list[Path]:
    if not curated.is_dir():
        raise ShardError(f"{curated}: not a directory — pass the output of `compass data curate`")
    files = sorted(p for p in curated.rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        raise ShardError(
            f"{curated}: no .parquet files — pass the output directory of `compass data curate`"
        )
    return files


def _read_rows(files: list[Path], batch_docs: int) -> Iterator[dict[str, list]]:
    import pyarrow.parquet as pq

    for path in files:
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ShardError(
                f"{path}: missing column(s) {missing}; curated parquet needs text, id (and lang, "
                "domain, quality, weight, dup_count) — re-run `compass data curate`"
            )
        cols = [c for c in (*REQUIRED, *DEFAULTS) if c in names]
        for batch in pf.iter_batches(batch_size=batch_docs, columns=cols):
            data = batch.to_pydict()
            n = len(data["text"])
            for col, default in DEFAULTS.items():
                if col not in data:
                    data[col] = [default] * n
            yield data


class _SplitWriter:
    def __init__(self, root: Path, split: str):
        self.file = open(tokens_path(root, split), "wb")  # noqa: SIM115 — closed in finish()
        self.offsets = [0]
        self.cols: dict[str, list] = {k: [] for k in DEFAULTS}

    def add(self, ids: list[int], row: dict[str, Any], codes: dict[str, dict[str, int]]) -> None:
        np.asarray(ids, dtype=np.uint32).tofile(self.file)
        self.offsets.append(self.offsets[-1] + len(ids))
        for k in DEFAULTS:
            v = row[k]
            self.cols[k].append(codes[k].setdefault(str(v), len(codes[k])) if k in codes else v)

    def finish(self, root: Path, split: str) -> dict[str, int]:
        self.file.close()
        np.savez(
            index_path(root, split),
            offsets=np.asarray(self.offsets, dtype=np.int64),
            lang=np.asarray(self.cols["lang"], dtype=np.int16),
            domain=np.asarray(self.cols["domain"], dtype=np.int16),
            quality=np.asarray(self.cols["quality"], dtype=np.float32),
            weight=np.asarray(self.cols["weight"], dtype=np.float32),
            dup_count=np.asarray(self.cols["dup_count"], dtype=np.int32),
        )
        return {"n_docs": len(self.offsets) - 1, "n_tokens": int(self.offsets[-1])}


def _encode(tok: Tokenizer, texts: list[str], add_bos: bool) -> list[list[int]]:
    out = []
    for ids in tok.encode_batch(texts):
        ids = list(ids)
        if add_bos and tok.bos_id is not None:
            ids = [tok.bos_id, *ids]
        out.append([*ids, tok.eos_id])
    return out


def tokenize_curated(
    curated: str | Path,
    tokenizer: Tokenizer,
    out: str | Path,
    config: ShardsConfig | None = None,
    tokenizer_hash: str = "",
) -> dict[str, Any]:
    """Write the shard set for ``curated`` into ``out``; returns the meta dict (also meta.json)."""
    config = config or ShardsConfig()
    curated, out = Path(curated), Path(out)
    files = _parquet_files(curated)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    writers = {s: _SplitWriter(tmp, s) for s in SPLITS}
    codes: dict[str, dict[str, int]] = {"lang": {}, "domain": {}}
    counts = {"read": 0, "kept": 0, "too_short": 0, "empty": 0}
    max_id, held = -1, []
    bar = progress_bar(desc="tokenize", unit="doc", mininterval=2.0)
    for data in _read_rows(files, config.batch_docs):
        rows = [dict(zip(data, vals)) for vals in zip(*data.values())]
        counts["read"] += len(rows)
        keep = [r for r in rows if isinstance(r["text"], str) and r["text"].strip()]
        counts["empty"] += len(rows) - len(keep)
        for row, ids in zip(keep, _encode(tokenizer, [r["text"] for r in keep], config.add_bos)):
            if len(ids) - 1 < config.min_doc_tokens:
                counts["too_short"] += 1
                continue
            max_id = max(max_id, max(ids))
            split = "val" if is_val(row["id"], config.val_fraction) else "train"
            if split == "train" and len(held) < config.min_val_docs and config.val_fraction > 0:
                held.append((ids, row))  # held back: may be needed to fill a tiny val split
            else:
                writers[split].add(ids, row, codes)
            counts["kept"] += 1
        bar.update(len(rows))
    bar.close()
    _top_up_val(writers, held, codes, config)
    splits = {s: w.finish(tmp, s) for s, w in writers.items()}
    if max_id >= tokenizer.vocab_size:
        raise ShardError(f"tokenizer produced id {max_id} >= its vocab_size {tokenizer.vocab_size}")
    meta = {
        "format_version": FORMAT_VERSION,
        "tokenizer": {
            "hash": tokenizer_hash,
            "vocab_size": int(tokenizer.vocab_size),
            "eos_id": int(tokenizer.eos_id),
            "bos_id": None if tokenizer.bos_id is None else int(tokenizer.bos_id),
        },
        "splits": splits,
        "langs": list(codes["lang"]),
        "domains": list(codes["domain"]),
        "max_token_id": int(max_id),
        "counts": counts,
        "config": config.to_dict(),
        "source_files": [str(f) for f in files],
    }
    atomic_write_json(tmp / META, meta)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    log.info(
        "tokenised %d docs: train %d docs / %d tokens, val %d docs / %d tokens",
        counts["kept"],
        splits["train"]["n_docs"],
        splits["train"]["n_tokens"],
        splits["val"]["n_docs"],
        splits["val"]["n_tokens"],
    )
    return meta


def _top_up_val(writers, held, codes, config: ShardsConfig) -> None:
    """Place the held-back training documents: into val while it has too few, else into train.

    A tiny corpus can hash almost no documents into val; moving (not copying) a few keeps the
    validation set genuinely held out.
    """
    missing = max(0, config.min_val_docs - (len(writers["val"].offsets) - 1))
    if missing:
        log.info("validation split short by %d docs; moving them from train", missing)
    for i, (ids, row) in enumerate(held):
        writers["val" if i < missing else "train"].add(ids, row, codes)
