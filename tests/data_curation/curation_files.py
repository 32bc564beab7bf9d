"""Builders (imported by the curation tests) for small input files of every format the curation
readers take, good and broken."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

LID_EVAL = Path(__file__).parents[2] / "compass/data/curation/langid_eval.txt"


def eval_sentences() -> list[tuple[str, str]]:
    rows = []
    for line in LID_EVAL.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def clean_docs() -> list[dict]:
    """Three-sentence documents per language, built from the labelled LID sentences."""
    by_lang: dict[str, list[str]] = {}
    for lang, text in eval_sentences():
        by_lang.setdefault(lang, []).append(text)
    docs = []
    for lang, sents in by_lang.items():
        if lang == "other":
            continue
        sep = "" if lang in ("zh", "th") else " "
        for i in range(0, len(sents) - 2, 3):
            text = sep.join(sents[i : i + 3])
            docs.append({"id": f"{lang}-{i}", "text": text, "lang": lang, "source": "review"})
    return docs


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif path.suffix == ".zst":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


def write_parquet(path: Path, docs: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(docs), path)
    return path


def write_warc(path: Path, pages: list[tuple[str, str]]) -> Path:
    """A WARC of HTML response records (url, html), plus one request record that is skipped."""
    out = b""
    for i, (url, html) in enumerate(pages):
        body = html.encode()
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        http += f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        head = (
            f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\n"
            f"WARC-Record-ID: <urn:uuid:0000-{i}>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            f"Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n"
        ).encode()
        out += head + http + b"\r\n\r\n"
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    out += (
        (
            f"WARC/1.0\r\nWARC-Type: request\r\nWARC-Record-ID: <urn:uuid:req>\r\n"
            f"Content-Length: {len(req)}\r\n\r\n"
        ).encode()
        + req
        + b"\r\n\r\n"
    )
    path.write_bytes(out)
    return path


def write_pdf(path: Path, lines: list[str]) -> Path:
    """A minimal one-page PDF with Helvetica text (ASCII), correct xref offsets."""
    stream = (
        "BT /F1 12 Tf 72 720 Td 14 TL "
        + " ".join(f"({s.replace('(', '').replace(')', '')}) '" for s in lines)
        + " ET"
    )
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def write_encrypted_pdf(path: Path, src: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(path, "wb") as f:
        writer.write(f)
    return path


def write_docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def write_epub(path: Path, chapters: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        items = "".join(
            f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
            for i in range(len(chapters))
        )
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        z.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>",
        )
        for i, text in enumerate(chapters):
            z.writestr(
                f"OEBPS/c{i}.xhtml",
                '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                f"<title>c{i}</title></head><body><p>{text}</p></body></html>",
            )
    return path
