"""Serving: an OpenAI-compatible HTTP API over the inference engine, plus a static web portal."""
