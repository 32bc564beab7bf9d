"""``compass serve CKPT``: the OpenAI-compatible API and the web portal for one checkpoint."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="OpenAI-compatible API and web portal",
        description="Serve a checkpoint: /v1/models, /v1/completions, /v1/chat/completions "
        "(SSE streaming, reasoning_content), /health, /metrics and the portal at /.",
    )
    p.add_argument("checkpoint", help="checkpoint directory (or run directory with 'latest')")
    p.add_argument(
        "--tokenizer", help="tokenizer directory (default: tokenizer/ in or beside CKPT)"
    )
    p.add_argument("--host", help="bind address (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--api-key", action="append", default=[], help="accepted API key (repeatable)")
    p.add_argument("--api-keys", help="file of API keys, one per line ('KEY [label]', # comments)")
    p.add_argument("--model-name", help="model id reported by /v1/models (default: CKPT's name)")
    p.add_argument(
        "--max-batch", type=int, help="engine batch slots (default serve.max_concurrent)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="weights dtype (float32 on CPU: bf16 matmul is ~10x slower there)",
    )
    add_recipe_args(p)
    p.set_defaults(func=_serve)


def _serve_config(args: argparse.Namespace):
    from compass.serve.config import ServeConfig

    recipe = resolve_recipe(args)
    cfg = getattr(recipe, "serve", None) or ServeConfig()
    if args.host:
        cfg.host = args.host
    if args.port:
        cfg.port = args.port
    if args.model_name:
        cfg.model_name = args.model_name
    if args.out and not cfg.accounting_log:
        cfg.accounting_log = str(Path(args.out) / "accounting.jsonl")
    cfg.validate()
    return recipe, cfg


def _serve(args: argparse.Namespace) -> int:
    recipe, cfg = _serve_config(args)
    if args.dry_run:
        return dry_run(recipe)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    import torch

    from compass.serve.app import create_app
    from compass.serve.engine_adapter import EngineBackend
    from compass.serve.keys import load_api_keys
    from compass.serve.server import serve_forever
    from compass.utils.manifest import write_manifest

    keys = load_api_keys(args.api_key, args.api_keys)
    if not keys and cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s with no API key: anyone who can reach it can use it", cfg.host)
    backend = EngineBackend.from_checkpoint(
        args.checkpoint,
        args.tokenizer,
        cfg.model_name,
        max_batch=args.max_batch or cfg.max_concurrent,
        device=args.device,
        dtype=getattr(torch, args.dtype),
    )
    app = create_app(backend, cfg, keys)
    log.info(
        "serving %s on http://%s:%d (portal at /, API at /v1, %s)",
        backend.model_name,
        cfg.host,
        cfg.port,
        f"{len(keys)} API key(s)" if keys else "no API keys",
    )
    t0 = time.time()
    serve_forever(app, cfg.host, cfg.port, cfg.drain_timeout_s)
    if args.out:
        save_resolved(recipe, args.out)
        m = app.state.service.metrics
        write_manifest(
            args.out,
            "serve",
            recipe.to_dict(),
            inputs={"checkpoint": args.checkpoint},
            metrics={"requests": sum(m.requests.values()), "tokens": sum(m.tokens.values())},
            wall_time_s=time.time() - t0,
        )
    return 0
