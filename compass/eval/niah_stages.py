"""What the long-context stage buys: needle retrieval before and after it, side by side (Fig. 9).

Both checkpoints are asked at the same lengths, up to the long stage's context: the anneal
checkpoint with its original RoPE base (beyond its training context it has never seen those
positions), the long checkpoint with the raised base (ABF). Lengths straddle the main context, so
the heatmaps show where retrieval stops before the stage and whether it holds after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compass.config import Config, ConfigError
from compass.languages import LANGS
from compass.utils.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


@dataclass
class NiahStagesConfig(Config):
    # Lengths as multiples of the main context, capped at the long context (minus the answer).
    length_mults: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 3.0, 4.0])
    min_length: int = 128  # room for the needle, the question and some haystack
    depths: list[float] = field(default_factory=lambda: [0, 50, 100])
    langs: list[str] = field(default_factory=lambda: list(LANGS))
    # Languages per (length, depth) cell, in turn: every language counts, the grid stays small.
    per_cell: int = 4
    tests: list[str] = field(default_factory=lambda: ["needle"])
    max_tokens: int = 10  # a 7-digit number and its full stop
    seed: int = 0

    def validate(self) -> None:
        bad = [t for t in self.tests if t not in ("needle", "lines")]
        if bad or not self.tests:
            raise ConfigError(f"eval.niah.tests = {self.tests}: choose from needle, lines")
        if any(m <= 0 for m in self.length_mults) or not self.length_mults:
            raise ConfigError(f"eval.niah.length_mults = {self.length_mults}: use positive values")


def stage_lengths(cfg: NiahStagesConfig, main_ctx: int, long_ctx: int) -> list[int]:
    top = long_ctx - cfg.max_tokens
    return sorted({min(top, max(cfg.min_length, round(m * main_ctx))) for m in cfg.length_mults})


def compare_stages(
    ckpts: dict[str, Path], cfg: NiahStagesConfig, main_ctx: int, long_ctx: int, out: Path
) -> dict[str, Any]:
    """Every test on every checkpoint at the same grid; one side-by-side heatmap per test, a
    markdown table of accuracy by length and ``niah.json``. Returns {test: {label: {accuracy,
    by_length}}}."""
    from compass.eval.niah import (
        NiahConfig,
        answer,
        build_cases,
        load_checkpoint_tokenizer,
        load_niah_engine,
        summary,
        write_niah,
    )
    from compass.eval.plots import heatmaps

    lengths = stage_lengths(cfg, main_ctx, long_ctx)
    metrics: dict[str, Any] = {}
    table = [
        f"Retrieval accuracy by prompt length (tokens; main context {main_ctx}, long context "
        f"{long_ctx}), averaged over depths {cfg.depths} and languages.",
        "",
    ]
    # One tokenizer and one set of cases: every checkpoint is asked exactly the same prompts.
    tok = load_checkpoint_tokenizer(next(iter(ckpts.values())))
    engines = {label: load_niah_engine(path, tok, long_ctx) for label, path in ckpts.items()}
    for test in cfg.tests:
        ncfg = NiahConfig(
            lengths, cfg.depths, list(cfg.langs), test, cfg.max_tokens, cfg.seed, cfg.per_cell
        )
        cases = build_cases(tok, ncfg, long_ctx)
        runs = {}
        for label, engine in engines.items():
            done = answer(engine, cases, ncfg)
            write_niah(done, out / _slug(label), test, plot=False)
            runs[label] = summary(done)
        first = next(iter(runs.values()))
        heatmaps(
            {label: s["grid"] for label, s in runs.items()},
            first["lengths"],
            first["depths"],
            out / f"niah_{test}_stages.png",
        )
        metrics[test] = {
            label: {"accuracy": round(s["accuracy"], 3), "by_length": _rounded(s["by_length"])}
            for label, s in runs.items()
        }
        table += [
            f"| {test} | " + " | ".join(str(n) for n in lengths) + " | all |",
            "|---" * (len(lengths) + 2) + "|",
        ]
        for label, s in runs.items():
            cells = " | ".join(f"{s['by_length'][n]:.2f}" for n in lengths)
            table.append(f"| {label} | {cells} | {s['accuracy']:.2f} |")
        table.append("")
    atomic_write_text(out / "niah.md", "\n".join(table))
    atomic_write_json(out / "niah.json", metrics)
    return metrics


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """One accuracy per (test, checkpoint): the figures a report line holds."""
    return {
        f"{test} {label}": m["accuracy"]
        for test, runs in metrics.items()
        for label, m in runs.items()
    }


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label).strip("_")


def _rounded(by_length: dict[int, float]) -> dict[str, float]:
    return {str(n): round(v, 3) for n, v in by_length.items()}
