"""Finding a checkpoint's tokenizer and copying its Hugging Face files next to exported weights.

Convention: a ``tokenizer/`` directory holding ``tokenizer.json`` (+ ``tokenizer_config.json``,
chat template, ...) sits in the checkpoint directory or its run directory, or a manifest names it
as the ``tokenizer`` input. Only Hugging Face tokenizer file names are copied, so a stage's own
``config.json`` / ``manifest.json`` never overwrites the model's.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HF_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
)


def _hf_files_dir(d: Path) -> Path | None:
    for cand in (d, d / "hf"):
        if (cand / "tokenizer.json").is_file() or (cand / "tokenizer.model").is_file():
            return cand
    return None


def _pointed_to(d: Path) -> Path | None:
    """A tokenizer directory named by ``manifest.json`` (inputs.tokenizer) or ``meta.json``."""
    for name in ("manifest.json", "meta.json"):
        f = d / name
        if not f.is_file():
            continue
        try:
            meta = json.loads(f.read_text())
        except json.JSONDecodeError:
            continue
        ref = (meta.get("inputs") or {}).get("tokenizer") or meta.get("tokenizer")
        if isinstance(ref, dict):
            ref = ref.get("path")
        if isinstance(ref, str):
            p = Path(ref) if Path(ref).is_absolute() else d / ref
            if p.is_dir():
                return p
    return None


def find_tokenizer(ckpt_dir: Path, run_dir: Path | None = None) -> Path | None:
    """The directory of HF tokenizer files belonging to a checkpoint, or None."""
    for d in (ckpt_dir, run_dir):
        if d is None:
            continue
        for cand in (d / "tokenizer", _pointed_to(d)):
            if cand is not None and cand.is_dir() and (found := _hf_files_dir(cand)):
                return found
    return None


def copy_tokenizer(src: Path, out_dir: Path) -> list[str]:
    src = _hf_files_dir(src) or src
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in HF_TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, out_dir / name)
            copied.append(name)
    if "tokenizer.json" not in copied and "tokenizer.model" not in copied:
        log.warning("%s holds no tokenizer.json / tokenizer.model; nothing usable copied", src)
    return copied


def special_token_ids(tok_dir: Path) -> dict[str, Any]:
    """bos/eos/pad ids for config.json and generation_config.json, from tokenizer_config.json."""
    cfg_file, tok_file = tok_dir / "tokenizer_config.json", tok_dir / "tokenizer.json"
    if not cfg_file.is_file() or not tok_file.is_file():
        return {}
    from tokenizers import Tokenizer

    tok_cfg = json.loads(cfg_file.read_text())
    tok = Tokenizer.from_file(str(tok_file))
    ids: dict[str, Any] = {}
    for role in ("bos", "eos", "pad"):
        text = tok_cfg.get(f"{role}_token")
        if isinstance(text, dict):
            text = text.get("content")
        if isinstance(text, str) and (tid := tok.token_to_id(text)) is not None:
            ids[f"{role}_token_id"] = tid
    return ids
