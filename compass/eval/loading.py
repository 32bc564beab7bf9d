"""Turn what the user points ``compass eval`` at into a backend."""

from __future__ import annotations

from pathlib import Path

from compass.eval.backend import EngineBackend


def load_backend(
    checkpoint: str | Path,
    tokenizer: str | Path | None = None,
    batch_size: int = 16,
    max_batch: int = 32,
) -> EngineBackend:
    """A Compass checkpoint (float or quantized); the tokenizer defaults to the checkpoint's own."""
    ckpt = Path(checkpoint)
    tok_dir = Path(tokenizer) if tokenizer else _find_tokenizer(ckpt)
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(tok_dir)
    engine = _load_engine(ckpt, tok, max_batch)
    return EngineBackend(engine, tok, batch_size=batch_size)


def _load_engine(ckpt: Path, tok, max_batch: int):
    from compass.inference.engine import Engine

    return Engine.from_checkpoint(ckpt, tok, max_batch=max_batch)  # float or quantized


def _find_tokenizer(ckpt: Path) -> Path:
    for cand in (ckpt / "tokenizer", ckpt.parent / "tokenizer", ckpt.parent.parent / "tokenizer"):
        if cand.exists():
            return cand
    raise FileNotFoundError(
        f"{ckpt}: no tokenizer next to the checkpoint — pass --tokenizer DIR (the output of "
        "`compass tokenizer train`)"
    )
