"""Readers for formats that need an extractor: WARC (HTML main text), PDF, DOCX, EPUB.

HTML main text comes from resiliparse (fast, boilerplate-aware); WARC records are parsed by its
companion fastwarc. Each reader turns a broken file into a rejected record naming the format's
failure (``corrupt_pdf``, ``encrypted_pdf``, ...), never an exception.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from xml.etree import ElementTree

from compass.data.curation.config import ReaderConfig
from compass.data.curation.records import make_doc, make_reject

log = logging.getLogger(__name__)


def html_to_text(html: str, main_content: bool = True) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=main_content, alt_texts=False)


def _decode_html(body: bytes) -> str:
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return bytes_to_str(body, detect_encoding(body))


def read_warc(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    """One document per HTML response record; request/metadata records are not documents."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    offset = 0
    try:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                offset = rec.stream_pos
                where = f"byte {offset}"
                uri = rec.headers.get("WARC-Target-URI", "") or ""
                rid = rec.headers.get("WARC-Record-ID", "") or ""
                if rec.content_length > cfg.max_doc_bytes:
                    yield make_reject(path, where, "document_too_large", uri, rid, "warc")
                    continue
                ctype = (rec.http_headers.get("Content-Type", "") if rec.http_headers else "") or ""
                if "html" not in ctype.lower():
                    yield make_reject(path, where, "not_html", ctype or "no content type", rid)
                    continue
                text = html_to_text(_decode_html(rec.reader.read()))
                if not text.strip():
                    yield make_reject(path, where, "no_main_text", uri, rid, "warc")
                    continue
                yield make_doc(text, path, where, rid or uri, "warc")
    except Exception as e:  # fastwarc signals a broken stream with several exception types
        yield make_reject(path, f"byte {offset}", "corrupt_warc", f"{type(e).__name__}: {e}")


def read_pdf(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    """A PDF is one document; an encrypted one that opens with no password is read as usual."""
    size = os.path.getsize(path)
    if size > cfg.max_doc_bytes * 4:  # PDF bytes are mostly layout, not text
        yield make_reject(path, "byte 0", "document_too_large", f"{size} bytes")
        return
    try:
        from pypdf import PdfReader

        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                yield make_reject(path, "byte 0", "encrypted_pdf", "needs a password")
                return
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as e:  # pypdf raises PdfReadError, ValueError, KeyError... on damaged files
        yield make_reject(path, "byte 0", "corrupt_pdf", f"{type(e).__name__}: {e}")
        return
    yield make_doc("\n\n".join(p.strip() for p in pages), path, "byte 0", source="pdf")


def read_docx(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    try:
        import docx

        document = docx.Document(path)
        paras = [p.text for p in document.paragraphs]
    except Exception as e:  # a damaged zip or missing part
        yield make_reject(path, "byte 0", "corrupt_docx", f"{type(e).__name__}: {e}")
        return
    yield make_doc("\n\n".join(p for p in paras if p.strip()), path, "byte 0", source="docx")


_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}
_OPF_NS = {"opf": "http://www.idpf.org/2007/opf"}


def read_epub(path: str, cfg: ReaderConfig) -> Iterator[dict]:
    """An EPUB is one document: its spine's XHTML chapters in reading order."""
    try:
        with zipfile.ZipFile(path) as z:
            container = ElementTree.fromstring(z.read("META-INF/container.xml"))
            opf_path = container.find(".//c:rootfile", _CONTAINER_NS).attrib["full-path"]
            opf = ElementTree.fromstring(z.read(opf_path))
            base = posixpath.dirname(opf_path)
            items = {
                it.attrib["id"]: it.attrib["href"]
                for it in opf.iterfind(".//opf:manifest/opf:item", _OPF_NS)
            }
            spine = [it.attrib["idref"] for it in opf.iterfind(".//opf:spine/opf:itemref", _OPF_NS)]
            chapters = []
            for ref in spine:
                html = z.read(posixpath.join(base, items[ref])).decode("utf-8", "replace")
                chapters.append(html_to_text(html, main_content=False))
    except Exception as e:  # bad zip, missing container, broken XML, missing chapter
        yield make_reject(path, "byte 0", "corrupt_epub", f"{type(e).__name__}: {e}")
        return
    text = "\n\n".join(c.strip() for c in chapters if c.strip())
    yield make_doc(re.sub(r"\n{3,}", "\n\n", text), path, "byte 0", source="epub")


READERS: dict[str, Callable[[str, ReaderConfig], Iterator[dict]]] = {
    "warc": read_warc,
    "pdf": read_pdf,
    "docx": read_docx,
    "epub": read_epub,
}
