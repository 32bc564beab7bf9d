"""Fixtures of the curation tests; file builders live in ``curation_files.py``."""

from __future__ import annotations

import pytest
from curation_files import clean_docs


@pytest.fixture
def docs() -> list[dict]:
    return clean_docs()
