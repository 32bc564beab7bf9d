"""``compass quantize CKPT --method awq-int4|rtn-int4|int8|fp8 [--calib DATA] --out DIR``.

The checkpoint defines the architecture (its ``model_config.json``); the recipe supplies the
``quant`` section (group size, AWQ grid, calibration size), overridable as ``--quant.key=value``.
``--calib`` takes a JSONL with ``text`` (plus ``--tokenizer DIR``), a token-shard directory, or a
.npy/.pt of token ids (see ``compass/quant/calib.py``); AWQ needs it, the others ignore it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from compass.config import ConfigError
from compass.quant.config import METHODS
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


def run_cli(args: argparse.Namespace) -> int:
    from compass.quant.run import quantize_checkpoint

    recipe = resolve_recipe(args)
    if args.method:
        recipe.quant.method = args.method
    recipe.quant.validate()
    if args.dry_run:
        return dry_run(recipe)
    if not args.out:
        raise ConfigError("compass quantize: pass --out DIR for the quantized checkpoint")
    t0 = time.time()
    out, metrics = quantize_checkpoint(
        args.checkpoint, recipe.quant, args.out, args.calib, args.tokenizer
    )
    save_resolved(recipe, out)
    inputs = {"checkpoint": args.checkpoint} | ({"calib": args.calib} if args.calib else {})
    write_manifest(out, "quantize", recipe.to_dict(), inputs, metrics, time.time() - t0)
    sys.stdout.write(json.dumps(metrics) + "\n")
    return 0
