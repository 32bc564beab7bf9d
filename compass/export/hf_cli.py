"""``compass export hf CKPT --out DIR``: a Hugging Face Qwen2-MoE directory."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from compass.export.safetensors_dir import DEFAULT_SHARD_BYTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hf",
        help="a Hugging Face Qwen2-MoE directory (transformers, vLLM)",
        description="Write safetensors + config.json + generation_config.json (+ tokenizer files) "
        "that transformers.AutoModelForCausalLM.from_pretrained loads with no custom code. "
        "An INT4 checkpoint from `compass quantize --method awq-int4|rtn-int4` is written in "
        "AutoAWQ's GEMM layout (qweight/qzeros/scales, quantization_config quant_method=awq) "
        "that vLLM's awq and transformers' AWQ read; float tensors then default to float16. "
        "With the default quant.awq_fold=true the export is code for code; checkpoints "
        "quantized with awq_fold=false have their unfoldable input scales re-quantized "
        "(see awq_conversion.json).",
    )
    p.add_argument(
        "ckpt", help="checkpoint directory (model.safetensors) or run directory (latest)"
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        default=None,
        help="weight dtype (default: as stored; float16 for an AWQ export)",
    )
    p.add_argument(
        "--tokenizer",
        default=None,
        help="directory of HF tokenizer files (default: the checkpoint's tokenizer/)",
    )
    p.add_argument(
        "--max-shard-bytes",
        type=int,
        default=DEFAULT_SHARD_BYTES,
        help="split weights into shards of at most this many bytes",
    )
    p.add_argument("--dry-run", action="store_true", help="print the config.json and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compass.export.hf import export_hf

    if args.dry_run:
        from compass.export.hf_mapping import to_hf_config
        from compass.model.io import load_model_config
        from compass.quant.io import is_quantized

        model_cfg = load_model_config(args.ckpt)
        cfg = to_hf_config(model_cfg)
        if is_quantized(args.ckpt):
            import torch

            from compass.export.awq import awq_group_size, awq_quantization_config
            from compass.quant.io import load_quant_config

            group = awq_group_size(model_cfg, load_quant_config(args.ckpt).group_size, args.ckpt)
            cfg = to_hf_config(model_cfg, getattr(torch, args.dtype or "float16"))
            cfg["quantization_config"] = awq_quantization_config(group)
        sys.stdout.write(json.dumps(cfg, indent=2) + "\n")
        return 0
    try:
        export_hf(args.ckpt, args.out, args.dtype, args.tokenizer, args.max_shard_bytes)
    except FileNotFoundError as e:
        logging.getLogger("compass").error("%s", e)
        return 2
    return 0
