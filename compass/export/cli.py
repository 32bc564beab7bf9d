"""``compass export hf|gguf``."""

from __future__ import annotations

import argparse

from compass.utils.cli import register_group

SUBCOMMANDS = {
    "hf": ("compass.export.hf_cli", "a Hugging Face Qwen2-MoE directory (transformers, vLLM)"),
    "gguf": ("compass.export.gguf_cli", "a GGUF file for llama.cpp"),
}


def register(sub: argparse._SubParsersAction) -> None:
    register_group(sub, "export", "export a checkpoint (Hugging Face, GGUF)", SUBCOMMANDS)
