"""Reading the user's post-training files: JSONL (plain, .gz, .zst), Parquet, directories of them.

Every row is accounted for. :func:`read_rows` hands each row to a format's ``normalize`` function,
which returns the row in the stage's shape or the reason it is unusable; the reasons are counted
(``rejects``) and logged with ``file:line``. A missing file, a file with no usable row, or a
Parquet file with none of the expected columns stops the stage with :class:`InputError`: one line
that names the file, what was expected and what was found.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from compass.data.curation.readers import TruncatedError, read_lines

log = logging.getLogger(__name__)

JSONL = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.zstd", ".json", ".ndjson")
PARQUET = (".parquet",)
MAX_LINE_BYTES = 64 << 20
LOGGED_PER_REASON = 3  # file:line of the first few rows per reason; the rest are counted

Normalize = Callable[[Any], "tuple[dict[str, Any] | None, str]"]


class InputError(ValueError):
    """A post-training input that cannot be used at all; the message is for the user."""


def input_files(paths: list[str | Path], what: str) -> list[Path]:
    """The data files under ``paths`` (files as given; directories: their JSONL/Parquet files)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.name.lower().endswith(JSONL + PARQUET))
            if not found:
                raise InputError(
                    f"{p}: a directory with no .jsonl[.gz|.zst] or .parquet file ({what})"
                )
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file ({what})")
    return files


def _json_array_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """A ``.json`` file holding one array of rows (what ``datasets.to_json(lines=False)`` and
    many hand-made files are); rows are numbered from 1."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a JSON array of rows ({type(e).__name__}: {e})") from None
    for n, row in enumerate(rows if isinstance(rows, list) else [rows], 1):
        yield n, row, None


def _json_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line, row, error) per non-blank line; a decode failure is an error, not an exception."""
    if path.suffix.lower() == ".json":
        with open(path, "rb") as f:
            if f.read(64).lstrip()[:1] == b"[":
                yield from _json_array_rows(path)
                return
    try:
        for n, raw in read_lines(str(path), MAX_LINE_BYTES):
            if raw is None:
                yield n, None, f"line longer than {MAX_LINE_BYTES >> 20} MiB"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield n, None, "not UTF-8 (re-encode the file as UTF-8)"
                continue
            if not text.strip():
                continue
            try:
                yield n, json.loads(text), None
            except json.JSONDecodeError:
                yield n, None, "invalid JSON line"
    except TruncatedError as e:
        yield -1, None, f"cut-off file ({e})"


def _parquet_rows(path: Path, fields: tuple[str, ...]) -> Iterator[tuple[int, Any, str | None]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise InputError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})") from None
    if fields and not set(fields) & set(table.column_names):
        raise InputError(
            f"{path}: Parquet columns {table.column_names} hold none of the expected "
            f"fields {list(fields)}"
        )
    for n, row in enumerate(table.to_pylist(), 1):
        yield n, row, None


def rows_of(path: Path, fields: tuple[str, ...]) -> Iterator[tuple[int, Any, str | None]]:
    if path.name.lower().endswith(PARQUET):
        return _parquet_rows(path, fields)
    return _json_rows(path)


def read_rows(
    paths: list[str | Path],
    normalize: Normalize,
    what: str,
    fields: tuple[str, ...],
    rejects: Counter | None = None,
) -> tuple[list[dict[str, Any]], Counter]:
    """The usable rows of every file, normalised, each with ``source`` = ``file:line``.

    ``what`` names the data and ``fields`` the fields a row may carry (both go into errors).
    Raises :class:`InputError` for a file that yields no usable row."""
    rejects = rejects if rejects is not None else Counter()
    out: list[dict[str, Any]] = []
    for path in input_files(paths, what):
        file_rejects: Counter = Counter()
        kept = 0
        for n, row, error in rows_of(path, fields):
            where = f"{path}:{n}" if n > 0 else str(path)
            norm, reason = (None, error) if error else normalize(row)
            if norm is None:
                file_rejects[reason] += 1
                if file_rejects[reason] <= LOGGED_PER_REASON:
                    log.warning("%s: %s, skipped", where, reason)
                continue
            norm.setdefault("source", where)
            out.append(norm)
            kept += 1
        rejects.update(file_rejects)
        if kept == 0:
            found = ", ".join(f"{k} ×{v}" for k, v in file_rejects.most_common(3)) or "no rows"
            raise InputError(
                f"{path}: no usable {what} (expected rows with {' / '.join(fields)}; found: "
                f"{found})"
            )
        if file_rejects:
            log.info(
                "%s: %d %s kept, %d skipped %s",
                path,
                kept,
                what,
                sum(file_rejects.values()),
                dict(file_rejects),
            )
    return out, rejects
