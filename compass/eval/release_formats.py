"""The public benchmarks' release formats: for each, the converter that reads the release's own
fields into task records (:mod:`compass.eval.formats`, :mod:`compass.eval.formats_gen`) and the
task settings it needs. :mod:`compass.eval.tasks` converts records with :func:`convert`;
:mod:`compass.eval.benchmarks` builds task specs over release files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compass.eval import formats, formats_gen
from compass.eval.formats import Converter, Record
from compass.eval.records import TaskFileError

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


def convert(fmt: str, rec: Record, where: str, lang: str) -> list[Record]:
    if fmt not in BENCHMARKS:
        raise TaskFileError(f"unknown task format '{fmt}'; known: {sorted(BENCHMARKS)}")
    return BENCHMARKS[fmt].convert(rec, where, lang)
