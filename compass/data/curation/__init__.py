"""Curation (``compass data curate``): raw documents → curated parquet, weights and a report.

Kept import-light: ``compass.recipes`` imports :mod:`compass.data.curation.config` on every run.
Entry point: :func:`compass.data.curation.run.curate` ``(CurationConfig, out_dir) -> report``.
Output: ``out_dir/curated/part-*.parquet`` with columns text, lang, domain, quality, dup_count,
weight, id, source; ``mixture.json`` (sampling weights per language and language/domain);
``report.{json,md,png}``; ``rejected.jsonl`` (file, offset, stage, reason of every rejection).
"""
