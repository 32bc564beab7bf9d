"""General heuristic filters (Gopher / C4 / FineWeb style), language-aware for Thai and Chinese.

:func:`general_filter` returns the name of the first rule a document breaks, or ``None``. The rule
name is the :class:`FilterConfig` field holding its threshold, so a rejection reason in the report
points straight at the knob that caused it.

Thai and Chinese are written without spaces between words, so "words" there are counted as
``characters / chars_per_word_no_space`` and the repetition rules run on character n-grams
(``n * chars_per_word`` long) instead of word n-grams; mean word length is not defined for them.
"""

from __future__ import annotations

import re
from collections import Counter

from compass.data.curation.config import FilterConfig
from compass.languages import NO_SPACE_LANGS

# Phrases that mark navigation, legal and template text rather than content, in the 8 languages.
BOILERPLATE = (
    "lorem ipsum",
    "cookie",
    "privacy policy",
    "terms of use",
    "terms and conditions",
    "all rights reserved",
    "enable javascript",
    "click here",
    "subscribe to our newsletter",
    "hak cipta dilindungi",
    "kebijakan privasi",
    "syarat dan ketentuan",
    "dasar privasi",
    "terma dan syarat",
    "chính sách bảo mật",
    "bảo lưu mọi quyền",
    "điều khoản sử dụng",
    "สงวนลิขสิทธิ์",
    "นโยบายความเป็นส่วนตัว",
    "ข้อกำหนดการใช้งาน",
    "版权所有",
    "隐私政策",
    "使用条款",
    "todos os direitos reservados",
    "política de privacidade",
    "termos de uso",
    "patakaran sa privacy",
    "lahat ng karapatan",
    "mga tuntunin at kundisyon",
)
_BOILERPLATE_RE = re.compile("|".join(re.escape(p) for p in BOILERPLATE), re.IGNORECASE)
_MOJIBAKE = re.compile(r"[ÃÂâàäåæçèéêëìíîïðñòóôõö][\xa0-\xbf€‚ƒ„†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
_URL = re.compile(r"^(https?://|www\.)|\.(com|net|org|io|co)(/|$)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*•‣▪●◦]\s")
_TERMINAL = tuple(".!?\"'”’)。！？」』…")
_ALPHA = re.compile(r"[^\W\d_]")


def _dup_fractions(lines: list[str], paras: list[str]) -> tuple[float, float, float]:
    """Gopher: share of duplicated lines, duplicated paragraphs, characters in duplicated lines."""
    lc = Counter(lines)
    dup_lines = sum(c for c in lc.values() if c > 1)
    dup_line_chars = sum(len(s) * c for s, c in lc.items() if c > 1)
    pc = Counter(paras)
    dup_paras = sum(c for c in pc.values() if c > 1)
    total_chars = max(1, sum(len(s) for s in lines))
    return (
        dup_lines / max(1, len(lines)),
        dup_paras / max(1, len(paras)),
        dup_line_chars / total_chars,
    )


def _ngrams(tokens: list[str] | str, n: int) -> list[tuple[str, ...]] | list[str]:
    if isinstance(tokens, str):
        return [tokens[i : i + n] for i in range(len(tokens) - n + 1)]
    return list(zip(*(tokens[i:] for i in range(n))))


def top_ngram_frac(tokens: list[str] | str, n: int) -> float:
    """Characters in the most frequent n-gram / all characters (Gopher's top n-gram rule)."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0
    gram, count = Counter(grams).most_common(1)[0]
    if count < 2:  # a gram seen once is not repetition, however short the document
        return 0.0
    gram_len = len(gram) if isinstance(gram, str) else sum(len(t) for t in gram)
    total = len(tokens) if isinstance(tokens, str) else sum(len(t) for t in tokens)
    return gram_len * count / max(1, total)


def dup_ngram_frac(tokens: list[str] | str, n: int) -> float:
    """Characters covered by n-grams that occur more than once / all characters."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    covered = bytearray(len(tokens))
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered[i : i + n] = b"\x01" * n
    if isinstance(tokens, str):
        return sum(covered) / max(1, len(tokens))
    dup_chars = sum(len(t) for t, c in zip(tokens, covered) if c)
    return dup_chars / max(1, sum(len(t) for t in tokens))


def encoding_check(text: str, cfg: FilterConfig) -> tuple[str | None, float]:
    """Broken decoding (U+FFFD, UTF-8 read as Latin-1/cp1252): checked before LID, which would
    otherwise call mojibake a foreign language and hide the real cause."""
    n_chars = max(1, len(text))
    if (v := text.count("\ufffd") / n_chars) > cfg.max_replacement_char_frac:
        return "max_replacement_char_frac", v
    if (v := len(_MOJIBAKE.findall(text)) / n_chars) > cfg.max_mojibake_frac:
        return "max_mojibake_frac", v
    return None, 0.0


def general_filter(text: str, lang: str, cfg: FilterConfig) -> tuple[str | None, float]:
    """(name of the first broken rule or None, the measured value)."""
    no_space = lang in NO_SPACE_LANGS
    words = text.split()
    if no_space:
        chars = "".join(words)
        n_words = len(chars) / cfg.chars_per_word_no_space
    else:
        n_words = len(words)
    if n_words < cfg.min_words:
        return "min_words", n_words
    if n_words > cfg.max_words:
        return "max_words", n_words
    n_chars = max(1, len(text))
    if not no_space:
        mean_len = sum(len(w) for w in words) / len(words)
        if mean_len < cfg.min_mean_word_len:
            return "min_mean_word_len", mean_len
        if mean_len > cfg.max_mean_word_len:
            return "max_mean_word_len", mean_len
        if (v := sum(bool(_ALPHA.search(w)) for w in words) / len(words)) < cfg.min_alpha_word_frac:
            return "min_alpha_word_frac", v
        if (v := sum(bool(_URL.search(w)) for w in words) / len(words)) > cfg.max_url_word_frac:
            return "max_url_word_frac", v
    if (v := (text.count("#") + text.count("…")) / n_words) > cfg.max_symbol_word_ratio:
        return "max_symbol_word_ratio", v
    if (v := text.count("!") / n_chars) > cfg.max_exclaim_frac:
        return "max_exclaim_frac", v
    sample = text[:5000]  # C-level map over a prefix: a per-character genexpr cost a third
    n_upper, n_lower = sum(map(str.isupper, sample)), sum(map(str.islower, sample))
    upper = n_upper / max(1, n_upper + n_lower)
    if n_upper + n_lower >= 20 and upper > cfg.max_upper_frac:
        return "max_upper_frac", upper
    if (v := len(_BOILERPLATE_RE.findall(text))) > cfg.max_boilerplate_hits:
        return "max_boilerplate_hits", v
    return _line_rules(text, cfg) or _repetition_rules(words, no_space, cfg) or (None, 0.0)


def _line_rules(text: str, cfg: FilterConfig) -> tuple[str, float] | None:
    lines = [s.strip() for s in text.split("\n") if s.strip()]
    if not lines:
        return "min_words", 0.0
    paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    if (v := sum(bool(_BULLET.match(s)) for s in lines) / len(lines)) > cfg.max_bullet_line_frac:
        return "max_bullet_line_frac", v
    ellipsis = sum(s.endswith(("...", "…")) for s in lines) / len(lines)
    if ellipsis > cfg.max_ellipsis_line_frac:
        return "max_ellipsis_line_frac", ellipsis
    terminal = sum(s.endswith(_TERMINAL) for s in lines) / len(lines)
    if terminal < cfg.min_terminal_punct_line_frac:
        return "min_terminal_punct_line_frac", terminal
    dup_lines, dup_paras, dup_line_chars = _dup_fractions(lines, paras)
    if dup_lines > cfg.max_dup_line_frac:
        return "max_dup_line_frac", dup_lines
    if dup_paras > cfg.max_dup_para_frac:
        return "max_dup_para_frac", dup_paras
    if dup_line_chars > cfg.max_dup_line_char_frac:
        return "max_dup_line_char_frac", dup_line_chars
    return None


def _repetition_rules(words: list[str], no_space: bool, cfg: FilterConfig) -> tuple | None:
    tokens: list[str] | str = "".join(words)[:50_000] if no_space else words[:10_000]
    scale = max(1, round(cfg.chars_per_word_no_space)) if no_space else 1
    for n, limit in ((2, cfg.max_top_2gram_frac), (3, cfg.max_top_3gram_frac)):
        if (v := top_ngram_frac(tokens, n * scale)) > limit:
            return f"max_top_{n}gram_frac", v
    if (v := top_ngram_frac(tokens, 4 * scale)) > cfg.max_top_4gram_frac:
        return "max_top_4gram_frac", v
    for n, limit in ((5, cfg.max_dup_5gram_frac), (10, cfg.max_dup_10gram_frac)):
        if (v := dup_ngram_frac(tokens, n * scale)) > limit:
            return f"max_dup_{n}gram_frac", v
    if not no_space and len(words) >= cfg.min_words_for_word_frac:
        lowered = Counter(w.lower() for w in words if len(w) > 2)
        if lowered:
            v = lowered.most_common(1)[0][1] / len(words)
            if v > cfg.max_top_word_frac:
                return "max_top_word_frac", v
    return None
