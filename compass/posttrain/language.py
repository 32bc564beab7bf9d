"""The one definition of "the answer is in the prompt's language" (report §4.2's language check).

The curation language identifier (CLD2 + lingua, with the id/ms marker resolver) judges the
answer text. An answer it cannot place (``other``: too short, numbers, code) or an empty one
carries no language and is not judged: :func:`in_language` returns None, and shares are taken over
the judged answers only, with their count reported beside them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any


@functools.cache
def language_identifier():
    from compass.data.curation.config import LangIdConfig
    from compass.data.curation.langid import LanguageIdentifier

    return LanguageIdentifier(LangIdConfig(idms_resolver="markers"))


def in_language(text: str, lang: str) -> bool | None:
    """True / False when the answer's language can be judged against ``lang``; None when it
    cannot (no expected language, empty answer, or the identifier says ``other``)."""
    if not lang or not text.strip():
        return None
    got = language_identifier()(text).lang
    return None if got == "other" else got == lang


def language_match(answers: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Share of answers in the prompt's language, per language and overall, over ``(text,
    lang)``; ``judged`` counts the answers that carried a language."""
    per: dict[str, list[bool]] = {}
    for text, lang in answers:
        verdict = in_language(text, lang)
        if verdict is not None:
            per.setdefault(lang, []).append(verdict)
    out: dict[str, Any] = {k: round(sum(v) / len(v), 4) for k, v in sorted(per.items())}
    judged = [x for v in per.values() for x in v]
    out["all"] = round(sum(judged) / len(judged), 4) if judged else float("nan")
    out["judged"] = len(judged)
    return out


def judge_error(rows: Iterable[dict[str, Any]], chars: int = 200) -> dict[str, Any]:
    """How often the judge misplaces text known to be in a language: over rows with a
    ``reference`` reply written in ``lang``, cut to ``chars`` (about an answer's length), the share
    judged to be in another language, overall and per language, and the share it cannot place."""
    per: dict[str, list[bool | None]] = {}
    for r in rows:
        if r.get("reference"):
            per.setdefault(r["lang"], []).append(in_language(r["reference"][:chars], r["lang"]))

    def error(verdicts: list[bool | None]) -> float:
        judged = [v for v in verdicts if v is not None]
        return round(1 - sum(judged) / len(judged), 4) if judged else float("nan")

    every = [v for vs in per.values() for v in vs]
    return {
        "error": error(every),
        "per_lang": {k: error(v) for k, v in sorted(per.items())},
        "unjudged": round(sum(v is None for v in every) / len(every), 4) if every else float("nan"),
        "references": len(every),
    }
