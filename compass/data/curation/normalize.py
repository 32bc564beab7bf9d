"""Text normalisation: NFC, control characters, whitespace, Vietnamese tone marks, character width.

Two spellings of one word split its statistics in every later stage (LID, filters, dedup) and
in the tokenizer, so each is mapped to one form here:
- Unicode NFC (composed characters).
- Control and zero-width characters removed, exotic spaces made plain, line endings ``\\n``,
  runs of inner spaces collapsed, trailing spaces stripped, at most one blank line in a row.
  Leading indentation is kept: it is syntax in code.
- Vietnamese tone marks in open syllables with ``oa/oe/uy`` move to the first vowel
  (``hoà → hòa``, ``thuỷ → thủy``): the placement Vietnamese Wikipedia and most keyboards use.
- Full-width ASCII letters and digits become ASCII; in text that is mostly CJK the full-width
  punctuation (``，。！``) is correct and stays.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f]")
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANKS = re.compile(r"\n{3,}")
_FULLWIDTH_ALNUM = re.compile(r"[Ａ-Ｚａ-ｚ０-９]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

# Tones as combining marks (NFD): grave, acute, tilde, hook above, dot below.
_TONE = "\u0300\u0301\u0303\u0309\u0323"
_VI_SIGNAL = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
# 'qu' and 'gi' are consonants: "quý" keeps its mark on y.
_VI_OA = re.compile(rf"(?<![qQ])([oO])([aAeE])([{_TONE}])(?![^\W\d_])")
_VI_UY = re.compile(rf"(?<![qQ])([uU])([yY])([{_TONE}])(?![^\W\d_])")


def fix_vietnamese_tones(text: str) -> str:
    """Old-style tone placement for open ``oa``/``oe``/``uy`` syllables (text must be NFC)."""
    if not _VI_SIGNAL.search(text):
        return text
    nfd = unicodedata.normalize("NFD", text)
    nfd = _VI_OA.sub(r"\1\3\2", nfd)
    nfd = _VI_UY.sub(r"\1\3\2", nfd)
    return unicodedata.normalize("NFC", nfd)


def fix_width(text: str) -> str:
    text = _FULLWIDTH_ALNUM.sub(lambda m: chr(ord(m.group()) - 0xFEE0), text)
    if "\u3000" in text and len(_CJK.findall(text[:2000])) < 0.3 * min(len(text), 2000):
        text = text.replace("\u3000", " ")
    return text


def normalize_text(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        text = fix_width(text)
        text = fix_vietnamese_tones(text)
        text = _SPACES.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _INNER_SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _BLANKS.sub("\n\n", text)
    return text.strip()
