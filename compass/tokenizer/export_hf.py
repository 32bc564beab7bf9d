"""Write the Hugging Face files next to the SentencePiece model.

``tokenizer.json`` is built from the SentencePiece proto by transformers' own converter, which
follows the model's settings (no dummy prefix, no whitespace collapsing, byte fallback, merges
ranked by piece score), so both paths give the same ids; a test checks it line by line.
"""

from __future__ import annotations

from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import AddedToken, Tokenizer

from compass.tokenizer import specials as sp_tok
from compass.tokenizer.chat_template import CHAT_TEMPLATE
from compass.utils.io import atomic_write_bytes, atomic_write_json, atomic_write_text

SPM_FILE = "tokenizer.model"
ADDITIONAL = [
    t for t in sp_tok.SPECIAL_TOKENS if t not in (sp_tok.UNK, sp_tok.BOS, sp_tok.EOS, sp_tok.PAD)
]


def build_hf_tokenizer(proto: sp_pb2.ModelProto) -> Tokenizer:
    from transformers.convert_slow_tokenizer import SpmConverter

    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    tok = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab)
    # SentencePiece knows them as user-defined pieces (matched in text, never merged); in HF they
    # are special added tokens so that skip_special_tokens and chat templates treat them as such.
    specials = [p.piece for p in proto.pieces if p.type in (2, 3, 4)]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tok


def tokenizer_config(model_max_length: int) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": sp_tok.BOS,
        "eos_token": sp_tok.EOS,
        "pad_token": sp_tok.PAD,
        "unk_token": sp_tok.UNK,
        "additional_special_tokens": ADDITIONAL,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "padding_side": "right",
        "chat_template": CHAT_TEMPLATE,
    }


def save_tokenizer(
    proto: sp_pb2.ModelProto, out_dir: str | Path, model_max_length: int = 4096
) -> Path:
    """Write tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / SPM_FILE, proto.SerializeToString())
    atomic_write_text(out / "tokenizer.json", build_hf_tokenizer(proto).to_str())
    atomic_write_json(out / "tokenizer_config.json", tokenizer_config(model_max_length))
    atomic_write_json(
        out / "special_tokens_map.json",
        {
            "bos_token": sp_tok.BOS,
            "eos_token": sp_tok.EOS,
            "pad_token": sp_tok.PAD,
            "unk_token": sp_tok.UNK,
            "additional_special_tokens": ADDITIONAL,
        },
    )
    return out
