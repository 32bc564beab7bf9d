"""Evaluation fixtures: the micro checkpoint behind Compass's own OpenAI-compatible server."""

import pytest


@pytest.fixture(scope="session")
def micro_server(micro_artifacts):
    """``(url, model_id)`` of ``compass serve``'s app on 127.0.0.1 with the random micro model."""
    from compass.serve.app import create_app
    from compass.serve.config import ServeConfig
    from compass.serve.engine_adapter import EngineBackend
    from compass.serve.server import BackgroundServer

    backend = EngineBackend.from_checkpoint(
        micro_artifacts["ckpt"], model_name="micro", max_batch=8
    )
    app = create_app(backend, ServeConfig(max_concurrent=8, max_queue=32, max_new_tokens=64))
    with BackgroundServer(app) as url:
        yield url, "micro"
