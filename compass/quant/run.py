"""``quantize_checkpoint``: one float checkpoint → one quantized checkpoint and its metrics.

``compass quantize`` and the pipeline's ``quantize`` step both call it, so both save the same
files (weights, ``tokenizer/`` beside them) and report the same metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from compass.config import ConfigError
from compass.quant.config import QuantConfig
from compass.tokenizer.locate import place_tokenizer

log = logging.getLogger(__name__)


def _file_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


def quantize_checkpoint(
    checkpoint: str | Path,
    cfg: QuantConfig,
    out: str | Path,
    calib: str | Path | None = None,
    tokenizer: str | Path | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Quantize with ``cfg.method`` into ``out``; AWQ calibrates on ``calib`` (text .jsonl with
    ``tokenizer``, a shard dir, or .npy/.pt ids). Returns (the output dir, its metrics)."""
    from compass.model.io import WEIGHTS, load_model, resolve_checkpoint
    from compass.quant.apply import quantize_model
    from compass.quant.calib import load_calibration
    from compass.quant.io import save_quantized

    ckpt = resolve_checkpoint(checkpoint)
    model = load_model(ckpt)
    ids = None
    if cfg.method == "awq-int4":
        if calib is None:
            raise ConfigError("--method awq-int4 needs --calib DATA (text .jsonl, shards, .npy)")
        ids = load_calibration(
            calib, cfg.calib_samples, cfg.calib_seq_len, tokenizer, model.config.vocab_size
        )
        log.info("calibration: %d sequences of %d tokens", *ids.shape)
    stats: dict = {}
    quantize_model(model, cfg, ids, stats)
    out = save_quantized(model, out)
    # Keep the checkpoint self-contained: the engine and evaluator look for ``DIR/tokenizer``.
    src = ckpt / "tokenizer" if (ckpt / "tokenizer").is_dir() else tokenizer
    if src:
        place_tokenizer(src, out)
    head = model.lm_head.weight.numel() * 4
    fp32, size = (ckpt / WEIGHTS).stat().st_size, _file_bytes(out)
    metrics: dict[str, Any] = {
        "method": cfg.method,
        "bytes": size,
        "ratio_vs_fp32": round(size / fp32, 4),
        "size_ratio_excl_head": round((size - head) / max(fp32 - head, 1), 4),
    }
    searched = [s for s in stats.values() if s.get("alpha") is not None]
    if searched:
        metrics["awq_mean_alpha"] = sum(s["alpha"] for s in searched) / len(searched)
        metrics["awq_err_over_rtn"] = sum(s["err"] for s in searched) / max(
            sum(s["err_rtn"] for s in searched), 1e-30
        )
    log.info("%s checkpoint in %s: %s", cfg.method, out, metrics)
    return out, metrics
