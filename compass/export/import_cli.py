"""``compass import hf HF_DIR --out CKPT``: a Qwen2-MoE directory back to a Compass checkpoint."""

from __future__ import annotations

import argparse
import logging


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="import a Hugging Face Qwen2-MoE checkpoint")
    group = parser.add_subparsers(dest="import_cmd", metavar="CMD", required=True)
    p = group.add_parser(
        "hf",
        help="a Hugging Face Qwen2-MoE directory -> Compass checkpoint",
        description="The exact inverse of `compass export hf`; refuses what the Compass model "
        "cannot represent (non-zero q/k/v biases, a token-dependent shared-expert gate, ...).",
    )
    p.add_argument("hf_dir", help="directory with config.json and safetensors weights")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compass.export.hf import import_hf

    try:
        import_hf(args.hf_dir, args.out)
    except FileNotFoundError as e:
        logging.getLogger("compass").error("%s", e)
        return 2
    return 0
