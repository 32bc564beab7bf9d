"""Compass: build multilingual, domain-specialised Mixture-of-Experts language models."""

__version__ = "0.1.0"
