"""Training text for the tokenizer: read JSONL / parquet / plain text, sample a balanced set per
language.

Inputs are a directory of ``*.jsonl`` (fields ``text``, ``lang``; ``compass data generate`` writes
them under ``OUT/docs/``, which is read when ``OUT`` is given) or ``*.parquet`` (columns ``text``,
``lang``; what ``compass data curate`` writes), or ``lang=path`` pairs where ``path`` is a file or
directory of JSONL, parquet or plain text (blank lines separate documents). A line that is not valid
UTF-8 or not valid JSON is skipped and recorded with its file and line number; it never stops the
run.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from compass.config import ConfigError

log = logging.getLogger(__name__)

MAX_RECORDED_SKIPS = 100  # the report lists this many skipped lines by file:line, then only counts


@dataclass
class Source:
    path: Path
    lang: str | None  # None: the language comes from each record's ``lang`` field


@dataclass
class ReadReport:
    """What was read and what was skipped, with reasons; goes into the manifest."""

    docs: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    skipped_where: list[str] = field(default_factory=list)  # "file:line: reason", first N

    def skip(self, path: Path, lineno: int, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.skipped_where) < MAX_RECORDED_SKIPS:
            self.skipped_where.append(f"{path}:{lineno}: {reason}")

    def to_dict(self) -> dict:
        return {
            "docs": self.docs,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "skipped_where": self.skipped_where,
        }


DATA_SUFFIXES = (".jsonl", ".parquet")


def parse_sources(specs: list[str]) -> list[Source]:
    """``['runs/data']`` or ``['en=a.txt', 'th=dir/']`` -> sources; paths must exist."""
    if not specs:
        raise ConfigError("tokenizer: no --data given; pass a directory or lang=path pairs")
    sources = []
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep:
            lang, path = "", spec
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"--data {spec}: '{p}' does not exist")
        if not sep and (p / "docs").is_dir():
            p = p / "docs"  # `compass data generate` output: documents only, not eval/ items
        if not sep and p.is_dir() and not _data_files(p, DATA_SUFFIXES):
            raise ConfigError(
                f"--data {spec}: no *.jsonl or *.parquet files under '{p}'; give a data directory "
                "or lang=path pairs for plain text"
            )
        sources.append(Source(p, lang.strip() or None))
    return sources


def _data_files(path: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(f for f in path.rglob("*") if f.is_file() and not f.name.startswith("."))
    if suffixes:
        files = [f for f in files if f.suffix in suffixes]
    return files


def iter_documents(sources: list[Source], report: ReadReport) -> Iterator[tuple[str, str]]:
    """Yield ``(lang, text)`` for every readable document in ``sources``."""
    for src in sources:
        files = _data_files(src.path, None if src.lang else DATA_SUFFIXES)
        for f in files:
            if f.suffix == ".parquet":
                yield from _read_parquet(f, src.lang, report)
            elif f.suffix == ".jsonl":
                yield from _read_jsonl(f, src.lang, report)
            elif src.lang:
                yield from _read_text(f, src.lang, report)


def _read_jsonl(path: Path, lang: str | None, report: ReadReport) -> Iterator[tuple[str, str]]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.skip(path, lineno, "not UTF-8")
                continue
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                report.skip(path, lineno, "not JSON")
                continue
            text = rec.get("text") if isinstance(rec, dict) else None
            doc_lang = lang or (rec.get("lang") if isinstance(rec, dict) else None)
            if not isinstance(text, str) or not isinstance(doc_lang, str) or not doc_lang:
                report.skip(path, lineno, "no 'text' or 'lang' field")
                continue
            yield doc_lang, text


def _read_parquet(path: Path, lang: str | None, report: ReadReport) -> Iterator[tuple[str, str]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    wanted = ["text"] + ([] if lang else ["lang"])
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ConfigError(f"{path}: parquet file has no column {missing}; it needs text and lang")
    row = 0
    for batch in pf.iter_batches(columns=wanted, batch_size=4096):
        cols = batch.to_pydict()
        langs = cols["lang"] if not lang else [lang] * batch.num_rows
        for text, doc_lang in zip(cols["text"], langs):
            row += 1
            if isinstance(text, bytes):
                try:
                    text = text.decode("utf-8")
                except UnicodeDecodeError:
                    report.skip(path, row, "not UTF-8")
                    continue
            if not text or not doc_lang:
                continue
            yield doc_lang, text


def _read_text(path: Path, lang: str, report: ReadReport) -> Iterator[tuple[str, str]]:
    """Plain text: blank lines separate documents, newlines inside a document are kept."""
    para: list[str] = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                report.skip(path, lineno, "not UTF-8")
                continue
            if line.strip():
                para.append(line)
            elif para:
                yield lang, "\n".join(para)
                para = []
    if para:
        yield lang, "\n".join(para)


def chunk_document(text: str, max_bytes: int) -> list[str]:
    """Cut a document into training lines of at most ``max_bytes`` UTF-8 bytes, at newlines first.

    SentencePiece silently drops longer sentences; cutting keeps their text and its newlines.
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return [text] if text.strip() else []
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in text.split("\n"):
        n = len(line.encode("utf-8")) + 1
        if cur and size + n > max_bytes:
            chunks.append("\n".join(cur))
            cur, size = [], 0
        while n > max_bytes:  # one over-long line: cut at a character boundary
            head = line.encode("utf-8")[: max_bytes - 1].decode("utf-8", errors="ignore")
            chunks.append(head)
            line = line[len(head) :]
            n = len(line.encode("utf-8")) + 1
        cur.append(line)
        size += n
    if cur:
        chunks.append("\n".join(cur))
    return [c for c in chunks if c.strip()]


def sample_per_language(
    sources: list[Source],
    max_lines: int,
    max_bytes: int,
    max_line_bytes: int,
    seed: int,
    languages: list[str] | None = None,
) -> tuple[dict[str, list[str]], ReadReport]:
    """A uniform random sample of at most ``max_lines`` lines / ``max_bytes`` bytes per language.

    Reservoir sampling keeps memory bounded by the cap, not by the input size, and makes the
    sample independent of file order given the seed.
    """
    rng = random.Random(seed)
    report = ReadReport()
    reservoirs: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    keep = set(languages) if languages else None
    for lang, text in iter_documents(sources, report):
        if keep is not None and lang not in keep:
            continue
        report.docs[lang] = report.docs.get(lang, 0) + 1
        report.bytes[lang] = report.bytes.get(lang, 0) + len(text.encode("utf-8"))
        res = reservoirs.setdefault(lang, [])
        for chunk in chunk_document(text, max_line_bytes):
            seen[lang] = seen.get(lang, 0) + 1
            if len(res) < max_lines:
                res.append(chunk)
            else:
                j = rng.randrange(seen[lang])
                if j < max_lines:
                    res[j] = chunk
    out: dict[str, list[str]] = {}
    for lang in sorted(reservoirs):
        lines, total = [], 0
        rng.shuffle(reservoirs[lang])  # the byte cap then cuts a random subset, not the file head
        for line in reservoirs[lang]:
            total += len(line.encode("utf-8"))
            if total > max_bytes and lines:
                break
            lines.append(line)
        out[lang] = lines
    if report.skipped:
        log.warning("skipped input lines: %s (first: %s)", report.skipped, report.skipped_where[:3])
    return out, report
