"""Schemathesis against the app's own OpenAPI schema: no generated request may get a 5xx.

Short version (fake engine, few examples per operation); the long one over the real engine is
``make serve-fuzz`` (bench/serve_fuzz.py).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from conftest import FakeBackend  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from compass.serve.app import create_app  # noqa: E402
from compass.serve.config import ServeConfig  # noqa: E402
from compass.serve.server import BackgroundServer  # noqa: E402

APP = create_app(FakeBackend(), ServeConfig(max_new_tokens=32))
schema = schemathesis.openapi.from_dict(APP.openapi())


@pytest.fixture(scope="module")
def base_url():
    with BackgroundServer(APP) as url:
        yield url


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, base_url):
    case.call_and_validate(base_url=base_url, checks=[not_a_server_error])
