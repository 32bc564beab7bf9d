"""Domain detection and the separate rule sets for code and math (report §2.1.2).

Prose rules throw out good code (few alphabetic "words", many symbols, repeated lines such as
``}``) and good math (formulas, short lines). So a document is first assigned a domain, and code
and math documents are judged only by their own rules here; prose keeps the general set.
"""

from __future__ import annotations

import re

from compass.data.curation.config import CodeFilterConfig, MathFilterConfig

_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import|#include|return\b|if\s*\(|for\s*\(|while\s*\(|"
    r"function\b|const |let |var |public |private |func |fn |package |SELECT |#!|@\w+)"
    r"|[;{}]\s*$|^\s*[})\]];?\s*$|^\s*(//|/\*|\*)|=>|->|:\s*$",
    re.IGNORECASE,
)
_MATH_MARK = re.compile(r"\\(frac|sum|int|sqrt|cdot|times|alpha|beta|pi|leq|geq|mathbb|begin)|\$")
_MATH_LINE = re.compile(r"^[\s\w().,^*/+\-=<>≤≥×÷√π∑∫|]*[=<>≤≥][\s\w().,^*/+\-=<>≤≥×÷√π∑∫|]*$")
_MATH_SYMBOL = re.compile(r"[=+\-*/^<>≤≥×÷√π∑∫∞∂∈≈≠±\\$_]")
_HEX_BLOB = re.compile(r"[A-Za-z0-9+/=]{64,}")


def detect_domain(text: str, source: str, source_domains: dict[str, str]) -> str:
    """The source's declared domain if the config maps it, else a guess from the text."""
    if source in source_domains:
        return source_domains[source]
    lines = [s for s in text.split("\n") if s.strip()][:400]
    if len(lines) >= 3:
        code = sum(bool(_CODE_LINE.search(s)) for s in lines) / len(lines)
        if code >= 0.4:
            return "code"
    if len(_MATH_MARK.findall(text)) >= 3:
        return "math"
    if len(lines) >= 3 and sum(bool(_MATH_LINE.match(s)) for s in lines) / len(lines) >= 0.3:
        return "math"
    return "general"


def _dup_line_frac(lines: list[str]) -> float:
    # Short structural lines ("}", "end", "\\]") repeat in every program: only long ones count.
    long_lines = [s.strip() for s in lines if len(s.strip()) > 10]
    if not long_lines:
        return 0.0
    return 1.0 - len(set(long_lines)) / len(long_lines)


def code_filter(text: str, cfg: CodeFilterConfig) -> tuple[str | None, float]:
    lines = [s for s in text.split("\n") if s.strip()]
    if len(lines) < cfg.min_lines:
        return "code.min_lines", len(lines)
    longest = max(len(s) for s in lines)
    if longest > cfg.max_line_len:
        return "code.max_line_len", longest
    if (v := sum(len(s) for s in lines) / len(lines)) > cfg.max_mean_line_len:
        return "code.max_mean_line_len", v
    chars = max(1, len(text))
    if (v := sum(c.isalnum() for c in text) / chars) < cfg.min_alnum_frac:
        return "code.min_alnum_frac", v
    if (v := _dup_line_frac(lines)) > cfg.max_dup_line_frac:
        return "code.max_dup_line_frac", v
    if (v := sum(len(m) for m in _HEX_BLOB.findall(text)) / chars) > cfg.max_hex_blob_frac:
        return "code.max_hex_blob_frac", v
    return None, 0.0


def math_filter(text: str, cfg: MathFilterConfig) -> tuple[str | None, float]:
    if len(text) < cfg.min_chars:
        return "math.min_chars", len(text)
    if (v := len(_MATH_SYMBOL.findall(text)) / len(text)) < cfg.min_math_symbol_frac:
        return "math.min_math_symbol_frac", v
    if (v := _dup_line_frac(text.split("\n"))) > cfg.max_dup_line_frac:
        return "math.max_dup_line_frac", v
    unbalanced = (
        abs(text.count("{") - text.count("}"))
        + abs(text.count("(") - text.count(")"))
        + text.count("$") % 2
    )
    if unbalanced > cfg.max_unbalanced_delims:
        return "math.max_unbalanced_delims", unbalanced
    return None, 0.0
