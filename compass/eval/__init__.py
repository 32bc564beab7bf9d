"""Evaluation: multiple-choice log-likelihood and generative tasks from local files (the built-in
held-out suite and the report's public benchmarks in their release formats), an
lm-evaluation-harness bridge, needle-in-a-haystack, a judge through any OpenAI-compatible endpoint,
a serving throughput sweep, and result reports."""
