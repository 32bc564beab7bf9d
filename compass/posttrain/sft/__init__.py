"""Supervised fine-tuning: chat-formatted samples, packing with per-sample isolation, two stages."""
