"""The built-in multilingual e-commerce corpus (``compass data generate``).

Kept import-light: ``compass.recipes`` imports :mod:`compass.data.synth.config` on every run.
The public API lives in :mod:`compass.data.synth.world` (the seeded catalogue and everything
derived from it) and :mod:`compass.data.synth.generate` (documents + evaluation items on disk).
"""
