"""``CompassTokenizer``: the trained tokenizer as every training and serving stage uses it.

Encoding goes through SentencePiece, which measured faster than the equivalent HF ``tokenizers``
pipeline on these CPUs (bench/tokenizer_speed.py) and parallelises over documents in C++. The HF
files in the same directory (``tokenizer.json`` + ``tokenizer_config.json``) give identical ids and
are what transformers, vLLM and the exporter load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sentencepiece as spm

from compass.config import ConfigError
from compass.tokenizer import specials as sp_tok
from compass.tokenizer.chat_template import render_parts

SPM_FILE = "tokenizer.model"


class CompassTokenizer:
    """SentencePiece model + fixed special ids + the chat renderer."""

    def __init__(self, directory: str | Path):
        self.hf_dir = Path(directory)
        model = self.hf_dir / SPM_FILE
        if not model.exists():
            raise ConfigError(
                f"{model}: no tokenizer model; train one with `compass tokenizer train --out "
                f"{self.hf_dir}`"
            )
        self.sp = spm.SentencePieceProcessor(model_file=str(model))
        self.vocab_size: int = self.sp.get_piece_size()
        ids = sp_tok.SPECIAL_IDS
        for tok, i in ids.items():
            if self.sp.id_to_piece(i) != tok:
                raise ConfigError(f"{model}: id {i} is not {tok!r}; not a Compass tokenizer")
        self.unk_id = ids[sp_tok.UNK]
        self.bos_id = ids[sp_tok.BOS]
        self.eos_id = ids[sp_tok.EOS]
        self.pad_id = ids[sp_tok.PAD]
        self.im_start_id = ids[sp_tok.IM_START]
        self.im_end_id = ids[sp_tok.IM_END]
        self.think_start_id = ids[sp_tok.THINK_START]
        self.think_end_id = ids[sp_tok.THINK_END]
        self.tool_call_start_id = ids[sp_tok.TOOL_CALL_START]
        self.tool_call_end_id = ids[sp_tok.TOOL_CALL_END]
        self.tool_response_start_id = ids[sp_tok.TOOL_RESPONSE_START]
        self.tool_response_end_id = ids[sp_tok.TOOL_RESPONSE_END]
        # Specials and reserved fillers: what decode(skip_special=True) leaves out.
        self.special_ids: frozenset[int] = frozenset(
            i
            for i in range(self.vocab_size)
            if i < sp_tok.BYTE_OFFSET or self.sp.id_to_piece(i).startswith("<|reserved_")
        )

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = self.sp.encode(text)
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def encode_batch(
        self,
        texts: list[str],
        num_threads: int = 2,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> list[list[int]]:
        """The fast path: documents encoded in parallel by SentencePiece's C++ thread pool."""
        out = self.sp.encode(list(texts), num_threads=num_threads)
        if add_bos or add_eos:
            head, tail = [self.bos_id] if add_bos else [], [self.eos_id] if add_eos else []
            out = [head + ids + tail for ids in out]
        return out

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        ids = [int(i) for i in ids]
        if skip_special:
            ids = [i for i in ids if i not in self.special_ids]
        return self.sp.decode(ids)

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(int(i))

    def render_chat(
        self,
        messages: list[dict[str, Any]],
        enable_thinking: bool = False,
        add_generation_prompt: bool = False,
        tools: list[dict[str, Any]] | None = None,
    ) -> tuple[list[int], list[int]]:
        """Token ids of a conversation and a 0/1 loss mask that is 1 on assistant tokens only.

        Gives the same ids as ``AutoTokenizer.apply_chat_template`` with the same arguments.
        """
        ids: list[int] = []
        mask: list[int] = []
        for text, trained in render_parts(messages, enable_thinking, add_generation_prompt, tools):
            part = self.sp.encode(text)
            ids += part
            mask += [int(trained)] * len(part)
        return ids, mask

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CompassTokenizer({str(self.hf_dir)!r}, vocab_size={self.vocab_size})"


def load_tokenizer(directory: str | Path) -> CompassTokenizer:
    """Load a tokenizer artifact directory (or a run directory holding ``tokenizer/``)."""
    d = Path(directory)
    if not (d / SPM_FILE).exists() and (d / "tokenizer" / SPM_FILE).exists():
        d = d / "tokenizer"
    return CompassTokenizer(d)
