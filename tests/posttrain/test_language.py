"""The one answer-language judge: shares over judged answers, and the judge's own error rate."""

import math

from compass.posttrain.language import in_language, judge_error, language_match

ID = "Tas ini terbuat dari kulit asli dan sangat cocok untuk dibawa bekerja setiap hari."
VI = "Chiếc túi này được làm từ da thật và rất phù hợp để mang đi làm hằng ngày."


def test_in_language_judges_text_and_leaves_numbers_unjudged():
    assert in_language(ID, "id") is True
    assert in_language(VI, "id") is False
    assert in_language("$12.50", "id") is None and in_language("  ", "id") is None


def test_language_match_counts_only_judged_answers():
    got = language_match([(ID, "id"), (VI, "id"), ("42", "id"), (VI, "vi")])
    assert got["id"] == 0.5 and got["vi"] == 1.0 and got["judged"] == 3
    assert math.isclose(got["all"], 2 / 3, abs_tol=1e-4)


def test_judge_error_on_references_in_a_known_language():
    rows = [
        {"lang": "id", "reference": ID},
        {"lang": "vi", "reference": VI},
        {"lang": "vi", "reference": ID},
        {"lang": "id", "reference": "123"},
        {"lang": "id", "prompt": "no reference"},
    ]
    got = judge_error(rows)
    assert got["references"] == 4 and got["unjudged"] == 0.25
    assert got["per_lang"] == {"id": 0.0, "vi": 0.5}
    assert math.isclose(got["error"], 1 / 3, abs_tol=1e-4)
