"""Pretraining: the report's three stages (main, anneal, long-context) on the one training loop."""
