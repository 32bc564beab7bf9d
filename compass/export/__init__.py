"""Export Compass checkpoints to ecosystem formats (Hugging Face Qwen2-MoE, GGUF) and back."""
