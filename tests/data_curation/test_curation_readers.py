"""Readers: every format yields its documents; every kind of bad input is a named rejection."""

from __future__ import annotations

import gzip
import os

import pytest
from curation_files import (
    write_docx,
    write_encrypted_pdf,
    write_epub,
    write_jsonl,
    write_parquet,
    write_pdf,
    write_warc,
)

from compass.data.curation.config import ReaderConfig
from compass.data.curation.readers import list_inputs, read_file

CFG = ReaderConfig(max_doc_bytes=20_000)


def _read(path) -> list[dict]:
    return list(read_file(str(path), CFG))


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_plain_and_compressed(tmp_path, docs, suffix):
    recs = _read(write_jsonl(tmp_path / f"d{suffix}", docs[:5]))
    assert [r["text"] for r in recs] == [d["text"] for d in docs[:5]]
    assert [r["id"] for r in recs] == [d["id"] for d in docs[:5]]
    assert recs[2]["offset"] == "line 3" and not any(r["reason"] for r in recs)


def test_parquet_txt_docx_epub(tmp_path, docs):
    recs = _read(write_parquet(tmp_path / "d.parquet", docs[:4]))
    assert [r["text"] for r in recs] == [d["text"] for d in docs[:4]]
    (tmp_path / "a.txt").write_text("Plain text file about fast delivery.\n", encoding="utf-8")
    assert _read(tmp_path / "a.txt")[0]["text"].startswith("Plain text file")
    rec = _read(write_docx(tmp_path / "a.docx", ["First paragraph here.", "Second one."]))[0]
    assert rec["text"] == "First paragraph here.\n\nSecond one." and rec["source"] == "docx"
    rec = _read(write_epub(tmp_path / "b.epub", ["Chapter one text.", "Chapter two text."]))[0]
    assert "Chapter one text." in rec["text"] and "Chapter two text." in rec["text"]
    assert rec["text"].index("one") < rec["text"].index("two")


def test_warc_main_text(tmp_path):
    html = (
        "<html><head><title>t</title><script>var x = 1;</script></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/cart'>Cart</a></nav>"
        "<article><h1>Review of the new blender</h1><p>The blender crushes ice well and is "
        "easy to clean after making smoothies every morning.</p></article>"
        "<footer>Copyright 2024</footer></body></html>"
    )
    recs = _read(write_warc(tmp_path / "c.warc", [("http://a.example/1", html)]))
    assert len(recs) == 1, "the request record is not a document"
    assert "crushes ice well" in recs[0]["text"]
    assert "var x" not in recs[0]["text"]
    assert recs[0]["id"] == "<urn:uuid:0000-0>" and recs[0]["offset"].startswith("byte ")


def test_pdf_text_and_encrypted(tmp_path):
    pdf = write_pdf(tmp_path / "a.pdf", ["Fast delivery and good packaging.", "Would buy again."])
    rec = _read(pdf)[0]
    assert "Fast delivery and good packaging." in rec["text"] and not rec["reason"]
    enc = _read(write_encrypted_pdf(tmp_path / "enc.pdf", pdf))[0]
    assert enc["reason"] == "encrypted_pdf"


def test_bad_inputs_are_named_rejections(tmp_path, docs):
    good = docs[0]["text"]
    lines = [
        b'{"text": "' + good.encode() + b'"}',
        b'{"text": "unterminated',
        b'{"text": "bad \xff\xfe bytes"}',
        b"",
        b'{"text": "' + b"x" * 50_000 + b'"}',
        b'{"content": 3}',
        b"[1, 2]",
    ]
    (tmp_path / "bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reasons = [(r["reason"], r["offset"]) for r in _read(tmp_path / "bad.jsonl")]
    assert reasons == [
        ("", "line 1"),
        ("malformed_json", "line 2"),
        ("invalid_utf8", "line 3"),
        ("empty_document", "line 4"),
        ("document_too_large", "line 5"),
        ("missing_text", "line 6"),
        ("malformed_json", "line 7"),
    ]
    full = gzip.compress(b"".join(f'{{"text": "doc {i}"}}\n'.encode() for i in range(3000)))
    (tmp_path / "cut.jsonl.gz").write_bytes(full[: len(full) // 2])
    recs = _read(tmp_path / "cut.jsonl.gz")
    assert recs[-1]["reason"] == "truncated_archive" and recs[-1]["offset"].startswith("line ")
    assert len(recs) > 10 and not any(r["reason"] for r in recs[:-1])
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\n%%EOF")
    assert _read(tmp_path / "corrupt.pdf")[0]["reason"] == "corrupt_pdf"
    (tmp_path / "corrupt.docx").write_bytes(b"PK\x03\x04 not a zip")
    assert _read(tmp_path / "corrupt.docx")[0]["reason"] == "corrupt_docx"
    (tmp_path / "corrupt.epub").write_bytes(b"nope")
    assert _read(tmp_path / "corrupt.epub")[0]["reason"] == "corrupt_epub"
    os.symlink(tmp_path / "missing.jsonl", tmp_path / "dangling.jsonl")
    assert _read(tmp_path / "dangling.jsonl")[0]["reason"] == "unreadable_file"
    (tmp_path / "x.bin").write_bytes(b"\x00")
    assert _read(tmp_path / "x.bin")[0]["reason"] == "unsupported_format"
    (tmp_path / "big.txt").write_bytes(b"a " * 20_000)
    assert _read(tmp_path / "big.txt")[0]["reason"] == "document_too_large"


def test_list_inputs_sorted_recursive(tmp_path):
    (tmp_path / "b").mkdir()
    for p in ("b/2.jsonl", "a.jsonl", "b/1.txt"):
        (tmp_path / p).write_text("{}\n")
    assert [os.path.relpath(p, tmp_path) for p in list_inputs([str(tmp_path)])] == [
        "a.jsonl",
        "b/1.txt",
        "b/2.jsonl",
    ]


def test_200mb_single_document_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"text": "ok document one"}\n{"text": "')
        chunk = b"a" * (1 << 20)
        for _ in range(200):
            f.write(chunk)
        f.write(b'"}\n{"text": "ok document two"}\n')
    recs = list(read_file(str(path), ReaderConfig()))
    assert [r["reason"] for r in recs] == ["", "document_too_large", ""]
