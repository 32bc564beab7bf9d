"""Language ID accuracy per language on Compass's labelled set, and speed, for three choices.

- ``pycld2`` alone (Indonesian/Malay left to CLD2);
- ``lingua`` restricted to the eight languages (+ ``other`` below its confidence);
- Compass's ``LanguageIdentifier`` (CLD2, then lingua on {id, ms} with a marker-word tie-break).

    .venv/bin/python bench/langid.py [--corpus runs/data/generated/docs]

``--corpus``: also the agreement of Compass's LID with the ``lang`` labels of a generated corpus
(clean prose/e-commerce documents; planted noise, code and math excluded).
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from pathlib import Path

from compass.data.curation.config import LangIdConfig
from compass.data.curation.langid import LanguageIdentifier
from compass.languages import LANGS as COMPASS_LANGS

EVAL = Path(__file__).parents[1] / "compass/data/curation/langid_eval.txt"
LANGS = (*COMPASS_LANGS, "other")


def load() -> list[tuple[str, str]]:
    rows = []
    for line in EVAL.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def lingua_only():
    from lingua import Language, LanguageDetectorBuilder

    names = {
        Language.ENGLISH: "en",
        Language.CHINESE: "zh",
        Language.INDONESIAN: "id",
        Language.MALAY: "ms",
        Language.THAI: "th",
        Language.VIETNAMESE: "vi",
        Language.TAGALOG: "tl",
        Language.PORTUGUESE: "pt",
    }
    det = LanguageDetectorBuilder.from_languages(*names).with_preloaded_language_models().build()

    def detect(text: str) -> str:
        conf = det.compute_language_confidence_values(text)
        return names[conf[0].language] if conf[0].value >= 0.5 else "other"

    return detect


def corpus_agreement(corpus: str, limit: int = 8000) -> list[str]:
    import json
    import random

    from compass.data.curation.normalize import normalize_text

    docs = []
    for f in sorted(Path(corpus).glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if not d.get("noise") and d.get("source") not in ("code", "math"):
                docs.append(d)
    random.Random(0).shuffle(docs)
    lid = LanguageIdentifier(LangIdConfig())
    right, total = Counter(), Counter()
    for d in docs[:limit]:
        total[d["lang"]] += 1
        right[d["lang"]] += lid(normalize_text(d["text"])).lang == d["lang"]
    cells = ", ".join(f"{k} {right[k] / total[k]:.4f}" for k in sorted(total))
    overall = sum(right.values()) / max(1, sum(total.values()))
    return [
        "",
        f"Agreement with the generator's labels on {sum(total.values())} clean documents of "
        f"`{corpus}`: {overall:.4f} ({cells}).",
    ]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=None, help="generated docs/ directory (JSONL)")
    args = ap.parse_args()
    rows = load()
    methods = {
        "pycld2": (lambda lid: lambda t: lid(t).lang)(
            LanguageIdentifier(LangIdConfig(idms_resolver="none"))
        ),
        "lingua (8 languages)": lingua_only(),
        "compass (cld2 + lingua id/ms)": (lambda lid: lambda t: lid(t).lang)(
            LanguageIdentifier(LangIdConfig())
        ),
    }
    header = "| method | " + " | ".join(LANGS) + " | total | sentences/s |"
    lines = [
        "# bench/langid.py — language ID accuracy on compass/data/curation/langid_eval.txt",
        "",
        f"- machine: {platform.machine()} (2 shared cores), date "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "- command: `.venv/bin/python bench/langid.py"
        + (f" --corpus {args.corpus}`" if args.corpus else "`"),
        f"- {len(rows)} short sentences: 25 per language, 12 in other languages",
        "",
        header,
        "|" + " --- |" * (len(LANGS) + 3),
    ]
    for name, fn in methods.items():
        fn(rows[0][1])  # load models before timing
        right, total = Counter(), Counter()
        t0 = time.perf_counter()
        for lang, text in rows:
            total[lang] += 1
            right[lang] += fn(text) == lang
        dt = time.perf_counter() - t0
        cells = " | ".join(f"{right[lang]}/{total[lang]}" for lang in LANGS)
        lines.append(
            f"| {name} | {cells} | {sum(right.values())}/{len(rows)} | {len(rows) / dt:,.0f} |"
        )
    if args.corpus:
        lines += corpus_agreement(args.corpus)
    text = "\n".join([*lines, ""])
    print(text)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/langid.md").write_text(text)


if __name__ == "__main__":
    main()
