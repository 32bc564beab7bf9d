"""Build an SFT data directory: generate (or read) samples, check them, select, write.

```
DIR/train.jsonl               selected samples, both stages (field ``stage``), OpenAI messages
DIR/eval/cart_arithmetic.jsonl  held-out multi-step arithmetic (never in train.jsonl)
DIR/report.json               counts per language/category/stage, rejects, selection report
```
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from compass.data.synth.world import World
from compass.sft.arith import cart_problems, eval_item
from compass.sft.config import SFTConfig
from compass.sft.generate import generate_language, write_jsonl
from compass.sft.records import check_sample, read_samples
from compass.sft.selection import select
from compass.utils.io import atomic_write_json

log = logging.getLogger(__name__)


def _eval_prompts(eval_dir: Path | None) -> set[str]:
    """Prompts of the held-out suite (``compass data generate``'s eval/*.jsonl)."""
    if eval_dir is None or not eval_dir.exists():
        return set()
    out = set()
    for f in eval_dir.glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.add(json.loads(line)["prompt"])
    return out


def build_sft_data(
    cfg: SFTConfig, world: World | None, out: str | Path, eval_dir: str | Path | None = None
) -> dict[str, Any]:
    """Write ``out`` (layout above); returns the report. ``world`` None = real data only."""
    out = Path(out)
    (out / "eval").mkdir(parents=True, exist_ok=True)
    d = cfg.data
    exclude = _eval_prompts(Path(eval_dir) if eval_dir else None)
    held = {lang: cart_problems(lang, d.eval_cart_per_lang, d.seed, "eval") for lang in d.langs}
    held_q = {p.question for ps in held.values() for p in ps}
    write_jsonl(
        [eval_item(p, i) for ps in held.values() for i, p in enumerate(ps)],
        out / "eval" / "cart_arithmetic.jsonl",
    )
    samples: list[dict[str, Any]] = []
    rejects: Counter = Counter()
    if world is not None:
        for lang in tqdm(d.langs, desc="sft data", unit="lang"):
            for s in generate_language(world, lang, cfg.data, exclude, held_q):
                reason = check_sample(s)
                if reason:  # a generator bug must be visible, not silently trained on
                    rejects[f"generated: {reason}"] += 1
                    continue
                samples.append(s)
    if d.inputs:
        real, rejects = read_samples(d.inputs, rejects)
        samples += real
    leaked = sum(1 for s in samples if s["messages"][0].get("content") in exclude | held_q)
    kept, sel_report = select(samples, cfg.selection, d.seed)
    write_jsonl(kept, out / "train.jsonl")
    report = {
        "generated_or_read": len(samples),
        "rejected": dict(rejects),
        "leaked_eval_prompts": leaked,
        "selection": sel_report,
        "kept": len(kept),
        "by_stage": dict(Counter(str(s.get("stage", 1)) for s in kept)),
        "by_category": dict(Counter(s.get("category", "") for s in kept)),
        "by_lang": dict(Counter(s.get("lang", "") for s in kept)),
        "long_cot": sum(1 for s in kept if s.get("long_cot")),
        "eval_items": sum(len(ps) for ps in held.values()),
    }
    atomic_write_json(out / "report.json", report)
    return report
