"""Readers: every input file becomes a stream of records, one per document, bad ones included.

A reader never raises on bad input. A malformed JSON line, invalid UTF-8, a truncated archive, an
oversized document or an unreadable file each becomes a rejected record with a named reason and
the file and line (or byte offset) where it happened, so ``read = kept + Σ rejected`` holds.
Line-oriented formats are read in chunks with a bounded line buffer: a 200 MB single line is
skipped without ever being held in memory.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from compass.data.curation.config import ReaderConfig
from compass.data.curation.records import make_doc, make_reject

log = logging.getLogger(__name__)

CHUNK = 1 << 20
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
TEXT_SUFFIXES = (".txt", ".md")


class TruncatedError(Exception):
    """A compressed stream ended before its end-of-stream marker."""


def list_inputs(paths: list[str]) -> list[str]:
    """Files under the given paths, sorted, so both engines see the same order and ids."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(str(f) for f in path.rglob("*") if f.is_file() or f.is_symlink())
        else:
            out.append(str(path))
    return out


def _format_of(path: str) -> str:
    name = path.lower()
    for comp in (".gz", ".zst", ".zstd"):
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    if name.endswith(".warc"):
        return "warc"
    for fmt, suffixes in (("jsonl", JSONL_SUFFIXES), ("txt", TEXT_SUFFIXES)):
        if name.endswith(suffixes):
            return fmt
    for fmt in ("parquet", "pdf", "docx", "epub"):
        if name.endswith("." + fmt):
            return fmt
    return "unknown"


def read_file(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    """All records of one file; an unreadable or unsupported file is one rejected record."""
    fmt = _format_of(path)
    if fmt == "unknown":
        yield make_reject(path, "file", "unsupported_format", "use jsonl/parquet/txt/warc/pdf/...")
        return
    try:
        if not os.access(path, os.R_OK) or not os.path.isfile(path):
            raise PermissionError(f"{path} is not a readable file")
        if fmt == "jsonl":
            yield from _read_jsonl(path, cfg)
        elif fmt == "txt":
            yield from _read_txt(path, cfg)
        elif fmt == "parquet":
            yield from _read_parquet(path, cfg)
        else:
            from compass.data.curation import readers_rich

            yield from readers_rich.READERS[fmt](path, cfg)
    except OSError as e:
        yield make_reject(path, "file", "unreadable_file", f"{type(e).__name__}: {e}")


def _chunks(path: str) -> Iterator[bytes]:
    """Decompressed bytes of a plain, gzip or zstd file; a cut-off stream raises TruncatedError."""
    name = path.lower()
    with open(path, "rb") as f:
        if name.endswith(".gz"):
            dec = zlib.decompressobj(31)
            while chunk := f.read(CHUNK):
                while chunk:
                    yield dec.decompress(chunk)
                    chunk = b""
                    if dec.eof and dec.unused_data:  # a multi-member gzip: start the next member
                        chunk, dec = dec.unused_data, zlib.decompressobj(31)
            if not dec.eof:
                raise TruncatedError("gzip stream ends before its end marker")
        elif name.endswith((".zst", ".zstd")):
            import zstandard

            dec = zstandard.ZstdDecompressor().decompressobj()
            while chunk := f.read(CHUNK):
                yield dec.decompress(chunk)
            if not dec.eof:
                raise TruncatedError("zstd stream ends before its end marker")
        else:
            while chunk := f.read(CHUNK):
                yield chunk


def read_lines(path: str, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) pairs; ``None`` for a line longer than ``max_bytes`` (not kept)."""
    buf = b""
    lineno = 0
    skipping = False
    for chunk in _chunks(path):
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            lineno += 1
            line, buf = buf[:nl], buf[nl + 1 :]
            yield lineno, (None if skipping or len(line) > max_bytes else line)
            skipping = False
        if len(buf) > max_bytes:
            skipping, buf = True, b""
    if buf or skipping:
        yield lineno + 1, (None if skipping else buf)


def _read_jsonl(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    lineno = 0
    try:
        for lineno, raw in read_lines(path, cfg.max_doc_bytes):
            yield _jsonl_record(path, lineno, raw, cfg)
    except TruncatedError as e:
        yield make_reject(path, f"line {lineno + 1}", "truncated_archive", str(e))
    except Exception as e:
        if not _is_codec_error(e):
            raise
        yield make_reject(path, f"line {lineno + 1}", "corrupt_archive", str(e))


def _is_codec_error(e: Exception) -> bool:
    # zstandard's ZstdError derives from Exception only, so it is recognised by name.
    return isinstance(e, (zlib.error, EOFError)) or type(e).__name__ == "ZstdError"


def _jsonl_record(path: str, lineno: int, raw: bytes | None, cfg: ReaderConfig) -> dict:
    where = f"line {lineno}"
    if raw is None:
        return make_reject(path, where, "document_too_large", f"over {cfg.max_doc_bytes} bytes")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return make_reject(path, where, "invalid_utf8", f"byte {e.start}: {e.reason}")
    if not line.strip():
        return make_reject(path, where, "empty_document", "blank line")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return make_reject(path, where, "malformed_json", f"{e.msg} at column {e.colno}")
    if not isinstance(obj, dict):
        return make_reject(path, where, "malformed_json", "a line must be a JSON object")
    text = next((obj[k] for k in cfg.text_fields if k in obj), None)
    doc_id, source = str(obj.get("id", "") or ""), str(obj.get("source", "") or "")
    if not isinstance(text, str):
        return make_reject(
            path, where, "missing_text", f"no string field among {cfg.text_fields}", doc_id, source
        )
    return make_doc(text, path, where, doc_id, source)


def _read_txt(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    """A text file is one document (a book, an article): its size is checked before reading."""
    size = os.path.getsize(path)
    if size > cfg.max_doc_bytes:
        yield make_reject(path, "byte 0", "document_too_large", f"{size} bytes")
        return
    data = b"".join(_chunks(path)) if path.endswith((".gz", ".zst")) else Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        yield make_reject(path, f"byte {e.start}", "invalid_utf8", e.reason)
        return
    yield make_doc(text, path, "byte 0", source="txt")


def _read_parquet(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        text_col = next((k for k in cfg.text_fields if k in names), None)
        if text_col is None:
            yield make_reject(path, "file", "missing_text", f"no column among {cfg.text_fields}")
            return
        cols = [c for c in (text_col, "id", "source") if c in names]
        row = 0
        for batch in pf.iter_batches(batch_size=1024, columns=cols):
            data = batch.to_pydict()
            for i, text in enumerate(data[text_col]):
                where = f"row {row}"
                row += 1
                doc_id = str(data["id"][i]) if "id" in data else ""
                source = str(data["source"][i]) if "source" in data else ""
                if not isinstance(text, str):
                    yield make_reject(path, where, "missing_text", "null text", doc_id, source)
                elif len(text) > cfg.max_doc_bytes:
                    yield make_reject(path, where, "document_too_large", f"{len(text)} chars")
                else:
                    yield make_doc(text, path, where, doc_id, source)
    except (OSError, ValueError) as e:  # pyarrow: ArrowIOError / ArrowInvalid
        yield make_reject(path, "file", "corrupt_parquet", str(e))
