"""Turn what the user points ``compass eval`` at into a backend."""

from __future__ import annotations

from pathlib import Path

from compass.eval.backend import EngineBackend
from compass.tokenizer.locate import tokenizer_for


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
