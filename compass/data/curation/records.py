"""One flat record schema for documents and rejections, so both engines move plain columns.

A record is a dict with the keys of :data:`FIELDS`. A document has ``reason == ""``; a rejected
one names its reason and the stage that rejected it. Every input document becomes exactly one
record at read time and stays one record to the end: that is what makes the counts add up.
"""

from __future__ import annotations

import hashlib
from typing import Any

STAGES = ("read", "normalize", "langid", "filter", "quality", "dedup")
UNKNOWN_LANG = "unknown"

FIELDS = (
    "uid",
    "id",
    "source",
    "file",
    "offset",
    "text",
    "lang",
    "domain",
    "stage",
    "reason",
    "detail",
)


def make_doc(text: str, file: str, offset: str, doc_id: str = "", source: str = "") -> dict:
    uid = f"{file}:{offset}"
    return {
        "uid": uid,
        "id": doc_id or uid,
        "source": source,
        "file": file,
        "offset": offset,
        "text": text,
        "lang": UNKNOWN_LANG,
        "domain": "",
        "stage": "",
        "reason": "",
        "detail": "",
    }


def make_reject(
    file: str, offset: str, reason: str, detail: str = "", doc_id: str = "", source: str = ""
) -> dict:
    """A document the reader could not turn into text; ``detail`` says what went wrong."""
    rec = make_doc("", file, offset, doc_id, source)
    rec["stage"] = "read"
    rec["reason"] = reason
    rec["detail"] = detail[:300]
    return rec


def reject(rec: dict[str, Any], stage: str, reason: str, detail: str = "") -> dict:
    rec["stage"] = stage
    rec["reason"] = reason
    if detail:
        rec["detail"] = detail[:300]
    return rec


def stable_hash64(text: str) -> int:
    """A process-independent 63-bit hash (Python's ``hash`` differs between Ray workers)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()) >> 1
