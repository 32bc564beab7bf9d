"""Evaluation: multiple-choice log-likelihood and generative tasks from local files, the built-in
held-out suite, an lm-evaluation-harness bridge, and result reports."""
