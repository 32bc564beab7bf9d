"""Special tokens: reserved once, at fixed ids, ahead of the 256 byte pieces and the learned pieces.

Every Compass tokenizer, whatever its size, has the same ids for these, so the chat template, SFT
loss masks and the serving stop tokens never depend on the training data.
"""

from __future__ import annotations

UNK = "<unk>"  # never emitted: byte fallback covers every input; SentencePiece requires the slot
BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"
PAD = "<|pad|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<tool_call>"
TOOL_CALL_END = "</tool_call>"
TOOL_RESPONSE_START = "<tool_response>"
TOOL_RESPONSE_END = "</tool_response>"

# Order = id. Id 0 is <unk> (SentencePiece's convention).
SPECIAL_TOKENS: tuple[str, ...] = (
    UNK,
    BOS,
    EOS,
    PAD,
    IM_START,
    IM_END,
    THINK_START,
    THINK_END,
    TOOL_CALL_START,
    TOOL_CALL_END,
    TOOL_RESPONSE_START,
    TOOL_RESPONSE_END,
)
SPECIAL_IDS: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
N_BYTES = 256
BYTE_OFFSET = len(SPECIAL_TOKENS)  # <0x00> has this id
FIRST_PIECE_ID = BYTE_OFFSET + N_BYTES
# A vocabulary must also hold a few learned pieces to be a BPE at all.
MIN_LEARNED_PIECES = 8


def reserved_token(i: int) -> str:
    """Filler for ids left over when the merged vocabulary is smaller than the target size."""
    return f"<|reserved_{i}|>"


def min_vocab_size() -> int:
    return FIRST_PIECE_ID + MIN_LEARNED_PIECES


def byte_piece(b: int) -> str:
    return f"<0x{b:02X}>"
