"""The FastAPI app: OpenAI-compatible routes, health, metrics and the web portal.

``create_app(backend, config, api_keys)`` builds everything from a :class:`Backend`; the CLI
passes the real engine adapter, tests pass a fake. Routes under ``/v1`` need a valid key when keys
are configured; ``/``, ``/static``, ``/health`` and ``/metrics`` are open (the portal asks for the
key itself, and metrics carry key labels, never keys).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from compass.serve.backend import Backend
from compass.serve.chat import create_chat_completion
from compass.serve.completions import create_completion
from compass.serve.config import ServeConfig
from compass.serve.errors import APIError, install_error_handlers
from compass.serve.keys import KeyChecker, RateLimiter
from compass.serve.metrics import Metrics
from compass.serve.middleware import ServingMiddleware
from compass.serve.protocol import ChatCompletionRequest, CompletionRequest
from compass.serve.service import Service

STATIC = Path(__file__).parent / "static"


def create_app(
    backend: Backend, config: ServeConfig | None = None, api_keys: dict[str, str] | None = None
) -> FastAPI:
    config = config or ServeConfig()
    metrics = Metrics()
    service = Service(backend, config, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.loop.start()
        yield
        await service.loop.stop()

    app = FastAPI(title="Compass", version="0.1.0", lifespan=lifespan)
    app.state.service = service
    install_error_handlers(app)

    authorize = _authorizer(
        KeyChecker(api_keys or {}), RateLimiter(config.rate_limit_per_min), metrics
    )

    @app.get("/v1/models")
    async def models(who: str = Depends(authorize)) -> dict:
        card = {
            "id": backend.model_name,
            "object": "model",
            "created": service.created,
            "owned_by": "compass",
            "max_model_len": backend.max_model_len,
        }
        return {"object": "list", "data": [card]}

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request, who: str = Depends(authorize)):
        return await create_completion(service, body, who, request)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest, request: Request, who: str = Depends(authorize)):
        return await create_chat_completion(service, body, who, request)

    @app.get("/v1/usage")
    async def usage(who: str = Depends(authorize)) -> dict:
        """This key's accounting: requests and tokens since the server started."""
        return {"key": who, **metrics.usage_of(who)}

    _info_routes(app, service, bool(api_keys))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        ServingMiddleware,
        max_body_bytes=config.max_body_bytes,
        metrics=metrics,
        state=service.state,
    )
    return app


def _authorizer(keys: KeyChecker, limiter: RateLimiter, metrics: Metrics):
    """The ``/v1`` dependency: a valid key (when keys are on) and the per-key rate limit."""

    async def authorize(request: Request) -> str:
        who = "anonymous"
        if keys.enabled:
            label = keys.check(request.headers.get("authorization"))
            if label is None:
                metrics.rejected["unauthorized"] += 1
                raise APIError(
                    401,
                    "missing or invalid API key: send 'Authorization: Bearer <key>'",
                    code="invalid_api_key",
                )
            who = label
        wait = limiter.retry_after(
            who if keys.enabled else (request.client.host if request.client else who)
        )
        if wait:
            metrics.rejected["rate_limited"] += 1
            raise APIError(
                429,
                f"rate limit of {limiter.per_minute} requests per minute reached; "
                f"retry in {wait} s",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(wait)},
            )
        return who

    return authorize


def _info_routes(app: FastAPI, service: Service, auth: bool) -> None:
    """Open routes: health, Prometheus metrics and the portal page."""
    backend, config, metrics = service.backend, service.config, service.metrics

    @app.get("/health")
    async def health() -> dict:
        return {
            "status": "draining" if service.state.draining else "ok",
            "model": backend.model_name,
            "auth": auth,
            "max_new_tokens": config.max_new_tokens,
            "running": service.loop.num_running,
            "waiting": service.loop.num_waiting,
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> str:
        gauges = {
            "requests_running": service.loop.num_running,
            "requests_waiting": service.loop.num_waiting,
            "requests_in_flight": service.state.in_flight,
            "engine_steps_total": service.loop.steps,
            "requests_cancelled_total": service.loop.cancelled,
        }
        return metrics.render(gauges)

    @app.get("/", include_in_schema=False)
    async def portal() -> FileResponse:
        return FileResponse(STATIC / "index.html")
