"""The SEA-adapted tokenizer: SentencePiece BPE, merged sub-tokenizers, HF export, chat template."""
