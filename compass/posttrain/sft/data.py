"""Build an SFT data directory from the user's files: read, check, fill languages, select, write.

```
DIR/train.jsonl   selected samples, both stages (field ``stage``), OpenAI messages
DIR/report.json   counts per language/category/stage, rejects by reason, the selection report
```

A sample without ``lang`` gets one from the curation language identifier (its user turns); a
sample asking a prompt of the ``exclude`` files (held-out evaluation items) is dropped, counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from compass.posttrain.formats import prompt_text, read_prompts, read_samples
from compass.posttrain.inputs import InputError
from compass.posttrain.language import language_identifier
from compass.posttrain.sft.config import SFTConfig
from compass.posttrain.sft.selection import select
from compass.utils.io import atomic_write_json, write_jsonl

log = logging.getLogger(__name__)


def _fill_languages(samples: list[dict[str, Any]]) -> int:
    """Set ``lang`` where it is empty; returns how many were set."""
    lid = language_identifier()
    n = 0
    for s in samples:
        if not s.get("lang"):
            got = lid(prompt_text(s["messages"])).lang
            s["lang"] = "" if got == "other" else got
            n += bool(s["lang"])
    return n


def build_sft_data(cfg: SFTConfig, out: str | Path) -> dict[str, Any]:
    """Write ``out`` (layout above); returns the report."""
    d = cfg.data
    if not d.inputs:
        raise InputError(
            "sft data: no input files — pass --input FILE (rows with messages, conversations, "
            "or instruction/output)"
        )
    out = Path(out)
    rejects: Counter = Counter()
    samples, _ = read_samples(d.inputs, rejects)
    read = len(samples) + sum(rejects.values())
    held = {prompt_text(p["prompt"]) for p in read_prompts(d.exclude)[0]} if d.exclude else set()
    kept_in = [s for s in samples if prompt_text(s["messages"]) not in held]
    if len(kept_in) < len(samples):
        rejects["asks a held-out evaluation prompt"] += len(samples) - len(kept_in)
    filled = _fill_languages(kept_in)
    kept, sel_report = select(kept_in, cfg.selection, d.seed)
    write_jsonl(kept, out / "train.jsonl")
    report = {
        "read": read,
        "rejected": dict(rejects),
        "languages_detected": filled,
        "selection": sel_report,
        "kept": len(kept),
        "by_stage": dict(Counter(str(s.get("stage", 1)) for s in kept)),
        "by_category": dict(Counter(s.get("category", "") for s in kept)),
        "by_lang": dict(Counter(s.get("lang", "") for s in kept)),
        "long_cot": sum(1 for s in kept if s.get("long_cot")),
    }
    atomic_write_json(out / "report.json", report)
    return report


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """What ``compass data sft`` and ``compass run`` print."""
    sel = report["selection"]
    keys = ("input", "exact_duplicates", "near_duplicates", "clusters", "reduction")
    return {
        "kept": report["kept"],
        "rejected": report["rejected"],
        "by_stage": report["by_stage"],
        "by_lang": report["by_lang"],
        "long_cot": report["long_cot"],
        "selection": {k: sel.get(k) for k in keys},
    }
