"""Records of a local benchmark file, whatever shape its public release uses.

JSONL (one object a line), a JSON array or ``{"data": [...]}`` object, CSV/TSV with a header row
(GPQA, translated MMLU, Winogender) and Parquet (Hugging Face dataset exports). Each record comes
with ``where`` — ``file:line`` (or ``file:row N`` for Parquet) — so an error names its place.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class TaskFileError(ValueError):
    """A task file or item that cannot be used; the message names the file, line and field."""


def read_records(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    path = Path(path)
    if not path.exists():
        raise TaskFileError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _csv(path, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        yield from _parquet(path)
    elif suffix == ".json" and (doc := _json_doc(path)) is not None:
        yield from doc
    else:
        yield from _jsonl(path)


def _jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise TaskFileError(f"{where}: not valid JSON ({e.msg})") from None
            if not isinstance(rec, dict):
                raise TaskFileError(f"{where}: expected a JSON object, got {type(rec).__name__}")
            yield where, rec


def _json_doc(path: Path) -> list[tuple[str, dict[str, Any]]] | None:
    """A JSON array (or an object holding one, e.g. ``{"data": [...]}``); None = JSONL after all."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if isinstance(doc, dict):
        doc = next((v for v in doc.values() if isinstance(v, list)), None)
    if not isinstance(doc, list):
        return None
    out = []
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise TaskFileError(f"{path}:item {i}: expected a JSON object")
        out.append((f"{path}:item {i}", rec))
    return out


def _csv(path: Path, delimiter: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        _ = reader.fieldnames  # reads the header row
        line = reader.line_num
        for rec in reader:
            # line_num counts physical lines, so quoted multi-line fields still point right.
            yield f"{path}:{line + 1}", {k: v for k, v in rec.items() if k is not None}
            line = reader.line_num


def _parquet(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    for i, rec in enumerate(pq.read_table(path).to_pylist()):
        yield f"{path}:row {i + 1}", rec
