"""Normalisation, language ID and the heuristic rule sets."""

from __future__ import annotations

import unicodedata
from collections import Counter

from curation_files import eval_sentences

from compass.data.curation.code_math import code_filter, detect_domain, math_filter
from compass.data.curation.config import (
    CodeFilterConfig,
    FilterConfig,
    LangIdConfig,
    MathFilterConfig,
)
from compass.data.curation.filters import (
    dup_ngram_frac,
    encoding_check,
    general_filter,
    top_ngram_frac,
)
from compass.data.curation.langid import LanguageIdentifier
from compass.data.curation.normalize import normalize_text

CODE = """# unit price per 100 g
# grams must be positive
def unit_price(price: float, grams: int) -> float:
    # guard
    if grams <= 0:
        raise ValueError("grams must be positive")
    return round(price / grams * 100, 2)  # two decimals


# sum the cart
for item in cart:
    total += unit_price(item.price, item.grams)  # running total
"""
MATH = r"""Let $x$ be the price. Then $0.8x + 5 = 45$, so $0.8x = 40$ and $x = \frac{40}{0.8} = 50$.
Check: $0.8 \cdot 50 + 5 = 45$.
"""


def test_normalize_nfc_controls_width_and_spaces():
    decomposed = unicodedata.normalize("NFD", "Sản phẩm tốt")
    assert normalize_text(decomposed) == "Sản phẩm tốt"
    assert normalize_text("a\x00b\u200bc \u00a0 d\r\n\n\n\ne  ") == "abc d\n\ne"
    assert normalize_text("ＡＢＣ１２３　ok") == "ABC123 ok"
    assert normalize_text("价格：１２元，很好。") == "价格：12元，很好。"  # CJK punctuation stays
    assert normalize_text("x\n    indented") == "x\n    indented"


def test_vietnamese_tone_marks_move_to_the_old_style_vowel():
    src = "hoà bình, thuỷ tinh, khoẻ, quý khách, hoàng gia, toán học"
    out = normalize_text(src)
    assert out == "hòa bình, thủy tinh, khỏe, quý khách, hoàng gia, toán học"
    assert normalize_text("Lisboa à noite, a boa") == "Lisboa à noite, a boa"


def test_langid_accuracy_per_language_on_the_labelled_set():
    lid = LanguageIdentifier(LangIdConfig())
    right, total = Counter(), Counter()
    for lang, text in eval_sentences():
        total[lang] += 1
        right[lang] += lid(text).lang == lang
    acc = {lang: right[lang] / total[lang] for lang in total}
    assert min(acc.values()) >= 0.88, acc
    assert sum(right.values()) / sum(total.values()) >= 0.97, acc


def test_langid_flags_mixed_text():
    lid = LanguageIdentifier(LangIdConfig())
    mixed = (
        "The delivery was fast and the package arrived in perfect condition today. "
        "配送很快，包装也很完整，我非常满意这次购物体验，下次还会再来购买。"
    )
    assert lid(mixed).second_share > 0.25


def test_general_filter_rules_fire_by_name():
    cfg = FilterConfig()
    good = "The blender crushes ice well and it is easy to clean after making smoothies."
    assert general_filter(good, "en", cfg)[0] is None
    assert general_filter("too short here", "en", cfg)[0] == "min_words"
    assert general_filter("BUY NOW!!! BEST PRICE!!! CLICK HERE NOW!!!", "en", cfg)[0] in (
        "max_exclaim_frac",
        "max_upper_frac",
    )
    boiler = "We use cookies. Read our privacy policy and terms of use. All rights reserved."
    assert general_filter(boiler, "en", cfg)[0] == "max_boilerplate_hits"
    stuffed = " ".join(["cheap phone case"] * 30)
    assert general_filter(stuffed, "en", cfg)[0] is not None
    dup = "\n".join(["Same line repeated here again."] * 5 + ["One different line at the end."])
    assert general_filter(dup, "en", cfg)[0] == "max_dup_line_frac"
    assert encoding_check("PreÃ§o Ã³timo, entrega rÃ¡pida", cfg)[0] == "max_mojibake_frac"
    assert encoding_check("bad \ufffd\ufffd text", cfg)[0] == "max_replacement_char_frac"


def test_unspaced_languages_count_characters_as_words():
    cfg = FilterConfig()
    th = "สินค้ามาถึงแล้ว ตรงตามรูปภาพทุกอย่าง จัดส่งเร็วมาก ได้รับของภายในสองวัน"
    zh = "这款手机壳质量很好，颜色和图片一样。快递三天就到了，包装也很完整。"
    assert general_filter(th, "th", cfg)[0] is None
    assert general_filter(zh, "zh", cfg)[0] is None
    # As a spaced language the same Chinese text is 1 "word" and fails min_words.
    assert general_filter(zh, "en", cfg)[0] == "min_words"
    assert general_filter("好" * 200, "zh", cfg)[0] is not None


def test_ngram_fractions_match_a_plain_oracle():
    words = list("abcabcabd")
    # top 2-gram: ("a","b") x3 -> 6 chars of 9
    assert top_ngram_frac(words, 2) == 6 / 9
    # 5-grams: (a b c a b) and (b c a b c) ... duplicated 5-gram (a,b,c,a,b)? no: all unique
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    dup = Counter(grams)
    covered = set()
    for i, g in enumerate(grams):
        if dup[g] > 1:
            covered |= {i, i + 1, i + 2}
    assert dup_ngram_frac(words, 3) == len(covered) / len(words)


def test_code_and_math_have_their_own_rules():
    fcfg = FilterConfig()
    assert detect_domain(CODE, "", {}) == "code"
    assert detect_domain(MATH, "", {}) == "math"
    assert detect_domain("A plain sentence about shopping online today.", "", {}) == "general"
    assert detect_domain("anything", "review", {"review": "ecommerce"}) == "ecommerce"
    # Prose rules would throw these away; their own rules keep them.
    assert general_filter(CODE, "en", fcfg)[0] is not None
    assert code_filter(CODE, CodeFilterConfig())[0] is None
    assert general_filter(MATH, "en", fcfg)[0] is not None
    assert math_filter(MATH, MathFilterConfig())[0] is None
    blob = "".join(f"b{i} = '" + "QUJD" * 20 + "'\n" for i in range(6))
    assert code_filter(blob, CodeFilterConfig())[0] == "code.max_hex_blob_frac"
    assert math_filter("a = b + (c", MathFilterConfig(min_chars=5))[0] is None
    assert math_filter("x = {{{{ y", MathFilterConfig(min_chars=5))[0] == (
        "math.max_unbalanced_delims"
    )
