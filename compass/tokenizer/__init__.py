"""The SEA-adapted tokenizer: SentencePiece BPE, merged sub-tokenizers, HF export, chat template.

Other stages use ``load_tokenizer(dir) -> CompassTokenizer`` (see ``tokenizer.py``).
"""

from compass.tokenizer.tokenizer import CompassTokenizer, load_tokenizer

__all__ = ["CompassTokenizer", "load_tokenizer"]
