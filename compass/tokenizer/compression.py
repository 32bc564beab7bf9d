"""Compression per language (report Figure 6): tokens per 1,000 UTF-8 bytes, bytes per token, and
the share of the vocabulary each language uses, for our tokenizer and baselines given by path.

A baseline is ``NAME=PATH`` or ``NAME=PATH#PATTERN``: a ``tokenizer.json`` (or a directory holding
one), a SentencePiece ``.model``, a Compass tokenizer directory, or a tiktoken-format BPE file
(lines of ``base64-token rank``, as Llama 3's ``tokenizer.model`` and OpenAI's ``*.tiktoken``) whose
pre-tokenizer regex is named by PATTERN: llama3, cl100k, o200k or qwen.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compass.config import ConfigError

# The split regexes those tokenizers are published with.
PATTERNS = {
    "cl100k": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
        r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
    "o200k": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    "llama3": (
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
        r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
    ),
    "qwen": (
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
        r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
    ),
}


@dataclass
class Encoder:
    name: str
    vocab_size: int
    encode_batch: Callable[[list[str]], list[list[int]]]


def _is_tiktoken_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            first = f.readline().split()
        return len(first) == 2 and first[1].isdigit() and bool(base64.b64decode(first[0]))
    except (OSError, ValueError):
        return False


def _tiktoken_encoder(name: str, path: Path, pattern: str, threads: int) -> Encoder:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    if pattern not in PATTERNS:
        raise ConfigError(
            f"--baseline {name}={path}: tiktoken-format file needs a pattern: append "
            f"#{'|#'.join(PATTERNS)}"
        )
    ranks = load_tiktoken_bpe(str(path))
    enc = tiktoken.Encoding(
        name, pat_str=PATTERNS[pattern], mergeable_ranks=ranks, special_tokens={}
    )
    return Encoder(name, enc.n_vocab, lambda t: enc.encode_ordinary_batch(t, num_threads=threads))


def load_encoder(spec: str, threads: int = 2) -> Encoder:
    """``NAME=PATH[#PATTERN]`` -> an :class:`Encoder` (see the module docstring for formats)."""
    name, sep, rest = spec.partition("=")
    if not sep:
        name, rest = Path(spec).stem, spec
    path_s, _, pattern = rest.partition("#")
    path = Path(path_s)
    if not path.exists():
        raise ConfigError(f"--baseline {spec}: '{path}' does not exist")
    if path.is_dir() and (path / "tokenizer.model").exists():
        from compass.tokenizer.tokenizer import load_tokenizer

        try:  # a Compass tokenizer: its fast path
            tok = load_tokenizer(path)
            return Encoder(name, tok.vocab_size, lambda t: tok.encode_batch(t, num_threads=threads))
        except ConfigError:
            pass
    if path.is_dir():
        path = path / "tokenizer.json"
        if not path.exists():
            raise ConfigError(f"--baseline {spec}: no tokenizer.json in that directory")
    if path.suffix == ".json":
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(str(path))
        return Encoder(
            name,
            hf.get_vocab_size(),
            lambda t: [e.ids for e in hf.encode_batch(t, add_special_tokens=False)],
        )
    if _is_tiktoken_file(path):
        return _tiktoken_encoder(name, path, pattern, threads)
    import sentencepiece as spm

    try:
        sp = spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as e:
        raise ConfigError(
            f"--baseline {spec}: not a tokenizer.json, tiktoken or SentencePiece file ({e})"
        ) from None
    return Encoder(name, sp.get_piece_size(), lambda t: sp.encode(list(t), num_threads=threads))


def measure(encoder: Encoder, texts: list[str]) -> dict[str, float]:
    """Tokens per 1,000 bytes, bytes per token, and the share of the vocabulary used."""
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    encoded = encoder.encode_batch(texts)
    n_tokens = sum(len(ids) for ids in encoded)
    used = len({i for ids in encoded for i in ids})
    return {
        "bytes": n_bytes,
        "tokens": n_tokens,
        "tokens_per_kb": 1000.0 * n_tokens / max(n_bytes, 1),
        "bytes_per_token": n_bytes / max(n_tokens, 1),
        "vocab_usage": used / encoder.vocab_size,
    }


def compression_table(
    encoders: list[Encoder], texts_by_lang: dict[str, list[str]]
) -> dict[str, dict[str, dict[str, float]]]:
    """``{tokenizer: {lang: metrics}}``."""
    return {
        enc.name: {lang: measure(enc, texts) for lang, texts in texts_by_lang.items()}
        for enc in encoders
    }


def format_table(table: dict[str, dict[str, dict[str, float]]], key: str = "tokens_per_kb") -> str:
    """A Markdown table: rows = languages, columns = tokenizers, best (lowest/highest) in bold."""
    names = list(table)
    langs = list(next(iter(table.values()))) if table else []
    lower_better = key == "tokens_per_kb"
    lines = ["| lang | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for lang in langs:
        vals = [table[n][lang][key] for n in names]
        best = min(vals) if lower_better else max(vals)
        cells = [f"**{v:.1f}**" if v == best else f"{v:.1f}" for v in vals]
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_compression(
    table: dict[str, dict[str, dict[str, float]]], path: str | Path, key: str = "tokens_per_kb"
) -> Path:
    """Grouped bars per language, one bar per tokenizer (the layout of the report's Figure 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    langs = list(next(iter(table.values())))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(langs) * max(1, len(names) / 3)), 4))
    for k, name in enumerate(names):
        xs = [i + k * width for i in range(len(langs))]
        ax.bar(xs, [table[name][lang][key] for lang in langs], width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(langs))], langs)
    ax.set_ylabel("tokens per 1,000 UTF-8 bytes (lower is better)")
    ax.set_title("Compression per language")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
