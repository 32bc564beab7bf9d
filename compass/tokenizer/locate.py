"""Where a checkpoint's tokenizer lives: every stage copies it to ``tokenizer/`` beside the weights.

One lookup for every consumer (chat, serve, eval, reward, DPO): an explicit directory wins; else
``tokenizer/`` inside the checkpoint, inside the run directory given, or one or two levels up
(a training run's ``step_N/`` sits below the run directory that holds it).
"""

from __future__ import annotations

from pathlib import Path


def tokenizer_for(
    checkpoint: str | Path, explicit: str | Path | None = None, required: bool = True
) -> Path | None:
    if explicit:
        return Path(explicit)
    from compass.model.io import resolve_checkpoint

    given = Path(checkpoint)
    try:
        ckpt = resolve_checkpoint(given)
    except FileNotFoundError:
        ckpt = given
    for cand in (ckpt, given, ckpt.parent, ckpt.parent.parent):
        if (cand / "tokenizer" / "tokenizer.model").exists():
            return cand / "tokenizer"
    if not required:
        return None
    raise FileNotFoundError(
        f"{checkpoint}: no tokenizer/ beside the checkpoint — pass --tokenizer DIR (the directory "
        "written by `compass tokenizer train`)"
    )


def place_tokenizer(tokenizer_dir: str | Path, checkpoint_dir: str | Path) -> Path:
    """Copy a tokenizer directory to ``tokenizer/`` beside a checkpoint's weights (where
    :func:`tokenizer_for` finds it); the source's run files (manifest, config) stay behind."""
    import shutil

    dest = Path(checkpoint_dir) / "tokenizer"
    shutil.copytree(
        tokenizer_dir,
        dest,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("manifest.json", "config.json"),
    )
    return dest
