"""``compass quantize CKPT --method awq-int4|rtn-int4|int8|fp8 [--calib DATA] --out DIR``.

The checkpoint defines the architecture (its ``model_config.json``); the recipe supplies the
``quant`` section (group size, AWQ grid, calibration size), overridable as ``--quant.key=value``.
``--calib`` takes a JSONL with ``text`` (plus ``--tokenizer DIR``), a token-shard directory, or a
.npy/.pt of token ids (see ``compass/quant/calib.py``); AWQ needs it, the others ignore it.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from compass.config import ConfigError
from compass.quant.config import METHODS
from compass.tokenizer.locate import place_tokenizer
from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="weight-only quantization: AWQ-INT4, RTN-INT4, INT8, FP8")
    p.add_argument(
        "checkpoint", help="float checkpoint dir (model.safetensors + model_config.json)"
    )
    p.add_argument("--method", choices=METHODS, help="overrides quant.method of the recipe")
    p.add_argument("--calib", help="calibration data: .jsonl (text), shard dir, or .npy/.pt ids")
    p.add_argument("--tokenizer", help="tokenizer dir, to encode a .jsonl --calib")
    add_recipe_args(p, out_default=None)
    p.set_defaults(func=run_cli)


def _file_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


def _copy_tokenizer(ckpt: Path, tokenizer: str | None, out: Path) -> None:
    """Keep the checkpoint self-contained: the engine and evaluator look for ``DIR/tokenizer``."""
    src = ckpt / "tokenizer" if (ckpt / "tokenizer").is_dir() else tokenizer
    if src:
        place_tokenizer(src, out)


def run_cli(args: argparse.Namespace) -> int:
    from compass.model.io import WEIGHTS, load_model, resolve_checkpoint
    from compass.quant.apply import quantize_model
    from compass.quant.calib import load_calibration
    from compass.quant.io import save_quantized

    recipe = resolve_recipe(args)
    if args.method:
        recipe.quant.method = args.method
    recipe.quant.validate()
    if args.dry_run:
        return dry_run(recipe)
    if not args.out:
        raise ConfigError("compass quantize: pass --out DIR for the quantized checkpoint")
    cfg = recipe.quant
    t0 = time.time()
    ckpt = resolve_checkpoint(args.checkpoint)
    model = load_model(ckpt)
    calib = None
    if cfg.method == "awq-int4":
        if not args.calib:
            raise ConfigError("--method awq-int4 needs --calib DATA (text .jsonl, shards, .npy)")
        calib = load_calibration(
            args.calib, cfg.calib_samples, cfg.calib_seq_len, args.tokenizer,
            model.config.vocab_size,
        )  # fmt: skip
        log.info("calibration: %d sequences of %d tokens", *calib.shape)
    stats: dict = {}
    quantize_model(model, cfg, calib, stats)
    out = save_quantized(model, args.out)
    save_resolved(recipe, out)
    _copy_tokenizer(ckpt, args.tokenizer, out)
    head = model.lm_head.weight.numel() * 4
    ratio = (_file_bytes(out) - head) / max((ckpt / WEIGHTS).stat().st_size - head, 1)
    metrics = {"size_ratio_excl_head": round(ratio, 4), "bytes": _file_bytes(out)}
    searched = [s for s in stats.values() if s.get("alpha") is not None]
    if searched:
        metrics["awq_mean_alpha"] = sum(s["alpha"] for s in searched) / len(searched)
        metrics["awq_err_over_rtn"] = sum(s["err"] for s in searched) / max(
            sum(s["err_rtn"] for s in searched), 1e-30
        )
    inputs = {"checkpoint": ckpt} | ({"calib": args.calib} if calib is not None else {})
    write_manifest(out, "quantize", recipe.to_dict(), inputs, metrics, time.time() - t0)
    log.info("%s checkpoint in %s: %s", cfg.method, out, metrics)
    return 0
