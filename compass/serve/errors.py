"""OpenAI-shaped errors: every failure a client can cause becomes a 4xx naming the problem.

Handlers registered here turn validation errors, unknown routes and unexpected exceptions into
``{"error": {...}}`` bodies; a traceback never reaches the client (it goes to the log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from compass.serve.protocol import error_body

log = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable",
    504: "timeout_error",
}


class APIError(Exception):
    """An error with its HTTP status; ``param`` names the request field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers or {}

    def body(self) -> dict:
        return error_body(
            self.message, _TYPES.get(self.status, "invalid_request_error"), self.param, self.code
        )

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _loc_to_param(loc: tuple) -> str:
    """``("body", "messages", 0, "role")`` -> ``messages[0].role``."""
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not str(p).startswith(("function-", "list[", "str", "int", "union[")):
            out += ("." if out else "") + str(p)
    return out


def validation_error(exc: RequestValidationError) -> APIError:
    errs = exc.errors()
    if not errs:
        return APIError(400, "invalid request body")
    first = errs[0]
    if first.get("type") == "json_invalid":
        return APIError(
            400, f"request body is not valid JSON: {first.get('msg')}", code="json_invalid"
        )
    param = _loc_to_param(tuple(first.get("loc", ())))
    msg = str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        return APIError(400, f"'{param}' is required", param=param, code="missing_field")
    where = f"'{param}'" if param else "request body"
    extra = f" (and {len(errs) - 1} more problem(s))" if len(errs) > 1 else ""
    return APIError(400, f"{where}: {msg}{extra}", param=param or None, code="invalid_value")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        msg = {
            404: f"no route {request.url.path}",
            405: f"{request.method} not allowed on {request.url.path}",
        }
        return APIError(exc.status_code, msg.get(exc.status_code, str(exc.detail))).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return APIError(500, "internal server error; the server log has the details").response()
