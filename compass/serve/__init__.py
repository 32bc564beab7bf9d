"""Serving: an OpenAI-compatible HTTP API over the inference engine, plus a static web portal.

    compass serve CKPT [--tokenizer DIR] [--host 127.0.0.1] [--port 8000]
                       [--api-key KEY ...] [--api-keys FILE] [--serve.max_concurrent=16 ...]

Routes: ``GET /v1/models``, ``POST /v1/completions`` (text or token-id prompts, ``n``, ``echo``,
``logprobs``: lm-eval's ``local-completions`` works), ``POST /v1/chat/completions`` (SSE with
``stream``, think mode via ``chat_template_kwargs: {"enable_thinking": true}``, reasoning in
``reasoning_content``), ``GET /v1/usage`` (the caller's accounting), ``GET /health``,
``GET /metrics`` (Prometheus text) and the portal at ``/``.

In code: ``create_app(backend, ServeConfig(...), api_keys)`` (``compass.serve.app``) over any
:class:`compass.serve.backend.Backend`; ``EngineBackend.from_checkpoint(ckpt, tokenizer)``
(``compass.serve.engine_adapter``) is the real engine; ``BackgroundServer(app)``
(``compass.serve.server``) runs it on 127.0.0.1 in a thread for tests and benches.
"""
