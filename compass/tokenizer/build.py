"""``run``: sample text per language, train the sub-tokenizers, merge them, write the artifact."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from compass.config import ConfigError
from compass.tokenizer.config import TokenizerConfig
from compass.tokenizer.corpus import parse_sources, sample_per_language
from compass.tokenizer.export_hf import save_tokenizer
from compass.tokenizer.merge import merge_sub_tokenizers
from compass.tokenizer.trainer import group_lines, train_sub_tokenizer
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)


def train_tokenizer(
    cfg: TokenizerConfig,
    data: list[str],
    out_dir: str | Path,
    model_max_length: int = 4096,
) -> dict[str, Any]:
    """Train the tokenizer described by ``cfg`` on ``data`` into ``out_dir``; returns metrics."""
    t0 = time.time()
    groups = cfg.group_specs()
    wanted = cfg.languages or sorted({lang for g in groups for lang in g.langs}) or None
    samples, report = sample_per_language(
        parse_sources(data),
        cfg.max_lines_per_lang,
        cfg.max_bytes_per_lang,
        cfg.max_line_bytes,
        cfg.seed,
        wanted,
    )
    if not samples:
        raise ConfigError(
            f"tokenizer: no usable text in --data {' '.join(data)} "
            f"(skipped: {report.skipped or 'nothing'}); give JSONL/parquet with text and lang"
        )
    for lang in wanted or []:
        if not samples.get(lang):
            raise ConfigError(
                f"tokenizer: language '{lang}' has no text in --data {' '.join(data)}; add its "
                "text, or remove it from tokenizer.groups / tokenizer.languages"
            )
    protos = []
    for gi, group in enumerate(
        progress_bar(groups, desc="sub-tokenizers", disable=len(groups) < 2)
    ):
        lines, langs = group_lines(group, samples, cfg.seed + gi)
        log.info("group %d '%s': %d lines in %s", gi, group.name, len(lines), langs)
        protos.append(train_sub_tokenizer(lines, group, cfg))
    proto, stats = merge_sub_tokenizers(protos, cfg.vocab_size, cfg.num_threads)
    save_tokenizer(proto, out_dir, model_max_length)
    return {
        "vocab_size": len(proto.pieces),
        "groups": [{"langs": g.name, "vocab_size": g.vocab_size} for g in groups],
        "merge": stats.to_dict(),
        "sample_lines": {k: len(v) for k, v in samples.items()},
        "sample_bytes": {k: sum(len(s.encode()) for s in v) for k, v in samples.items()},
        "read": report.to_dict(),
        "train_seconds": round(time.time() - t0, 2),
    }
