"""The report's public benchmarks (§7, Tables 6–8) as task specs over local files.

``benchmark_spec("belebele", "/data/belebele/ind_Latn.jsonl")`` gives a :class:`TaskSpec` whose
``format`` names the converter (:mod:`compass.eval.release_formats`) that reads the release's own
fields; nothing is downloaded and no
benchmark data lives in this repository. ``docs/eval-tasks.md`` lists each expected schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from compass.eval import formats
from compass.eval.records import TaskFileError
from compass.eval.release_formats import BENCHMARKS
from compass.eval.tasks import TaskSpec
from compass.languages import LANGS

__all__ = ["BENCHMARKS", "benchmark_spec", "lang_from_path", "parse_benchmark_arg"]

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
_LANGS = {*LANGS, *formats.XCOPA_CONNECTORS}


def lang_from_path(path: str | Path) -> str:
    """The language a file name announces (``test.id.jsonl``, ``ind_Latn.jsonl``,
    ``mmlu_TH-TH``)."""
    for token in re.split(r"[^A-Za-z]+", Path(path).name):
        t = token.lower()
        if t in _LANG_ALIASES:
            return _LANG_ALIASES[t]
        if t in _LANGS and t not in ("it",):  # "it" is a common English word in file names
            return t
    return ""


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
