"""Turn what the user points ``compass eval`` at into a backend.

A model argument is ``[LABEL=]TARGET`` with TARGET one of: a Compass checkpoint directory (float
or quantized); ``hf:DIR`` (any transformers causal LM saved in DIR; a bare DIR holding a
transformers ``config.json`` is read the same way); ``openai:BASE_URL[#MODEL]`` (an
OpenAI-compatible server; ``openai-chat:`` generates through chat completions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from compass.eval.backend import EngineBackend, ModelLoadError
from compass.eval.hf_backend import is_hf_dir
from compass.tokenizer.locate import tokenizer_for

KINDS = ("hf:", "openai:", "openai-chat:")


@dataclass
class ModelRef:
    label: str
    target: str  # as given, prefix included
    tokenizer: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


def parse_model(arg: str, tokenizer: str | None = None) -> ModelRef:
    """``[LABEL=]TARGET``; the label defaults to the directory name or the served model id."""
    label, sep, target = arg.partition("=")
    if not sep or any(c in label for c in ":/\\") or not label:
        label, target = "", arg
    if not label:
        kind, _, rest = target.partition(":") if target.startswith(KINDS) else ("", "", target)
        if kind.startswith("openai"):
            url, _, model = rest.partition("#")
            label = model or urlparse(url).netloc or url
        else:
            label = Path(rest).name or rest
    return ModelRef(label, target, tokenizer)


def open_backend(ref: ModelRef, batch_size: int = 16, concurrency: int = 4):
    """The backend for ``ref``; a target that is none of the known kinds is a one-line error."""
    if ref.target.startswith(("openai:", "openai-chat:")):
        return _openai(ref, concurrency)
    if ref.target.startswith("hf:"):
        return _hf(ref.target[3:], batch_size)
    path = Path(ref.target)
    if _is_compass(path):
        return load_backend(path, ref.tokenizer, batch_size=batch_size)
    if is_hf_dir(path):
        return _hf(str(path), batch_size)
    raise ModelLoadError(
        f"model '{ref.target}': neither a Compass checkpoint (model.safetensors + "
        "model_config.json) nor a transformers directory (config.json) — pass a checkpoint "
        "directory, hf:DIR or openai:BASE_URL[#MODEL]"
    )


def _is_compass(path: Path) -> bool:
    from compass.model.io import resolve_checkpoint

    try:
        resolve_checkpoint(path)
    except FileNotFoundError:
        return False
    return True


def _hf(path: str, batch_size: int):
    from compass.eval.hf_backend import HFBackend

    return HFBackend(path, batch_size=batch_size)


def _openai(ref: ModelRef, concurrency: int):
    from compass.eval.openai_backend import OpenAIBackend

    kind, _, rest = ref.target.partition(":")
    url, _, model = rest.partition("#")
    tok = open_tokenizer(ref.tokenizer) if ref.tokenizer else None
    return OpenAIBackend(
        url,
        model,
        tokenizer=tok,
        api_key=os.environ.get(ref.api_key_env, ""),
        chat=kind == "openai-chat",
        concurrency=concurrency,
    )


def open_tokenizer(directory: str | Path):
    """A Compass tokenizer directory, or any transformers tokenizer saved in one."""
    d = Path(directory)
    if (d / "tokenizer.model").exists() or (d / "tokenizer" / "tokenizer.model").exists():
        from compass.tokenizer import load_tokenizer

        return load_tokenizer(d)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(d, local_files_only=True)
    except (OSError, ValueError) as e:
        raise ModelLoadError(
            f"tokenizer '{d}': neither a Compass tokenizer nor a transformers one ({e})"
        ) from None


def load_backend(
    checkpoint: str | Path,
    tokenizer: str | Path | None = None,
    batch_size: int = 16,
    max_batch: int = 32,
) -> EngineBackend:
    """A Compass checkpoint (float or quantized); the tokenizer defaults to the checkpoint's own."""
    ckpt = Path(checkpoint)
    tok_dir = tokenizer_for(ckpt, tokenizer)
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(tok_dir)
    engine = load_engine(ckpt, tok, max_batch)
    return EngineBackend(engine, tok, batch_size=batch_size)


def load_engine(ckpt: Path, tok, max_batch: int):
    from compass.inference.engine import Engine

    return Engine.from_checkpoint(ckpt, tok, max_batch=max_batch)  # float or quantized
