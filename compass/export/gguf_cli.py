"""``compass export gguf CKPT --out DIR [--type f16|f32|q8_0|q4_0|q4_1] [--tokenizer DIR]``."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from compass.export.gguf import QTYPES

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gguf",
        help="a GGUF file for llama.cpp (Qwen2-MoE architecture)",
        description="Write DIR/model-TYPE.gguf (+ manifest.json) from a float or quantized "
        "Compass checkpoint; 2-D weights in TYPE, norms and router f32, head f16/f32.",
    )
    p.add_argument("ckpt", help="checkpoint directory (model.safetensors) or run directory")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--type", default="f16", choices=sorted(QTYPES), help="weight tensor type")
    p.add_argument("--tokenizer", default=None, help="tokenizer dir to embed its vocabulary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compass.export.gguf import export_gguf
    from compass.model.io import resolve_checkpoint
    from compass.quant.io import load_checkpoint
    from compass.utils.manifest import write_manifest

    t0 = time.time()
    ckpt = resolve_checkpoint(args.ckpt)
    model = load_checkpoint(ckpt)
    out_dir = Path(args.out)
    path = export_gguf(model, out_dir / f"model-{args.type}.gguf", args.type, args.tokenizer)
    inputs = {"checkpoint": ckpt} | ({"tokenizer": args.tokenizer} if args.tokenizer else {})
    write_manifest(
        out_dir,
        "export.gguf",
        {"type": args.type, "file": path.name},
        inputs,
        {"bytes": path.stat().st_size},
        time.time() - t0,
    )
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return 0
