"""The report's public benchmarks (§7, Tables 6–8) as task specs over local files.

``benchmark_spec("belebele", "/data/belebele/ind_Latn.jsonl")`` gives a :class:`TaskSpec` whose
``format`` names the converter that reads the release's own fields; nothing is downloaded and no
benchmark data lives in this repository. ``docs/eval-tasks.md`` lists each expected schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compass.eval import formats, formats_gen
from compass.eval.formats import Converter, Record
from compass.eval.records import TaskFileError
from compass.eval.tasks import TaskSpec

# Last number in the output (lm-eval's "flexible-extract" for GSM8K), thousands separators allowed.
LAST_NUMBER = r"(-?\d[\d,]*(?:\.\d+)?)(?!.*\d)"


@dataclass(frozen=True)
class Benchmark:
    convert: Converter
    kind: str = "mc"
    spec: dict[str, Any] = field(default_factory=dict)  # TaskSpec field overrides
    about: str = ""


BENCHMARKS: dict[str, Benchmark] = {
    "xcopa": Benchmark(formats.xcopa, about="XCOPA causal commonsense (11 languages)"),
    "mmlu": Benchmark(formats.mmlu, about="MMLU / MMMLU / Global-MMLU, letter answers"),
    "hellaswag": Benchmark(formats.hellaswag, about="HellaSwag sentence completion"),
    "openbookqa": Benchmark(formats.openbookqa, about="OpenBookQA science questions"),
    "belebele": Benchmark(formats.belebele, about="Belebele reading comprehension (FLORES)"),
    "xstorycloze": Benchmark(formats.xstorycloze, about="XStoryCloze story endings"),
    "boolq": Benchmark(formats.boolq, about="BoolQ yes/no questions"),
    "arc": Benchmark(formats.arc, about="ARC-Easy / ARC-Challenge"),
    "race": Benchmark(formats.race, about="RACE reading comprehension"),
    "gpqa": Benchmark(formats.gpqa, about="GPQA graduate-level science"),
    "winogender": Benchmark(formats.winogender, about="Winogender pronoun resolution"),
    "gsm8k": Benchmark(
        formats_gen.gsm8k,
        "gen",
        {
            "stop": ["Question:", "</s>", "<|im_end|>", "\n\n"],
            "max_tokens": 256,
            "answer_regex": LAST_NUMBER,
        },
        "GSM8K grade-school math, final number after ####",
    ),
    "shopping_mmlu": Benchmark(
        formats_gen.shopping_mmlu,
        "gen",
        {"stop": ["\n"], "max_tokens": 32},
        "Shopping MMLU (KDD Cup 2024): multiple-choice and generation items",
    ),
    "ecinstruct": Benchmark(
        formats_gen.ecinstruct,
        "gen",
        {"stop": ["\n"], "max_tokens": 64},
        "ECInstruct e-commerce instructions, exact match on output",
    ),
}

# Language codes as they appear in release file names (Belebele's ind_Latn, MMMLU's ID-ID, ...).
_LANG_ALIASES = {
    "ind": "id",
    "zsm": "ms",
    "tha": "th",
    "vie": "vi",
    "tgl": "tl",
    "fil": "tl",
    "por": "pt",
    "zho": "zh",
    "eng": "en",
}
_LANGS = {"en", "zh", "id", "ms", "th", "vi", "tl", "pt", *formats.XCOPA_CONNECTORS}


def lang_from_path(path: str | Path) -> str:
    """The language a file name announces (``test.id.jsonl``, ``ind_Latn.jsonl``, ``mmlu_TH-TH``)."""
    for token in re.split(r"[^A-Za-z]+", Path(path).name):
        t = token.lower()
        if t in _LANG_ALIASES:
            return _LANG_ALIASES[t]
        if t in _LANGS and t not in ("it",):  # "it" is a common English word in file names
            return t
    return ""


def convert(fmt: str, rec: Record, where: str, lang: str) -> list[Record]:
    if fmt not in BENCHMARKS:
        raise TaskFileError(f"unknown task format '{fmt}'; known: {sorted(BENCHMARKS)}")
    return BENCHMARKS[fmt].convert(rec, where, lang)


def benchmark_spec(name: str, path: str | Path, lang: str = "", **overrides: Any) -> TaskSpec:
    """A task over a public benchmark file; ``name`` is a key of :data:`BENCHMARKS`."""
    if name not in BENCHMARKS:
        raise TaskFileError(
            f"unknown benchmark '{name}'; known: {', '.join(sorted(BENCHMARKS))} "
            "(or write a TaskSpec JSON with your own field names, see docs/eval-tasks.md)"
        )
    b = BENCHMARKS[name]
    lang = lang or lang_from_path(path)
    fields = {"kind": b.kind, **b.spec, **overrides}
    return TaskSpec(
        name=f"{name}_{lang}" if lang else name, path=str(path), format=name, lang=lang, **fields
    )


def parse_benchmark_arg(arg: str) -> TaskSpec:
    """CLI form ``NAME=PATH`` or ``NAME:LANG=PATH`` (e.g. ``mmlu:th=mmlu_TH-TH.csv``)."""
    head, sep, path = arg.partition("=")
    if not sep or not path:
        raise TaskFileError(f"--benchmark {arg!r}: expected NAME=PATH or NAME:LANG=PATH")
    name, _, lang = head.partition(":")
    return benchmark_spec(name.strip().lower(), path, lang.strip())
