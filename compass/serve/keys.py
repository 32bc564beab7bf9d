"""API keys and per-key request rates.

Keys come from ``--api-key`` (repeatable), the ``COMPASS_API_KEYS`` environment variable
(comma-separated) and a key file (one key per line, an optional label after whitespace, ``#``
comments). With no key configured the API is open — which is why the server binds to 127.0.0.1
unless told otherwise. A key is never logged: accounting names it by its label or a short hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import deque
from pathlib import Path

from compass.config import ConfigError

ENV_VAR = "COMPASS_API_KEYS"


def key_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def load_api_keys(
    keys: list[str] | None = None, key_file: str | Path | None = None, env: bool = True
) -> dict[str, str]:
    """All configured keys -> their accounting label."""
    out: dict[str, str] = {}
    for k in keys or []:
        out[k] = key_id(k)
    if env:
        for k in os.environ.get(ENV_VAR, "").split(","):
            if k.strip():
                out[k.strip()] = key_id(k.strip())
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise ConfigError(f"--api-keys {path}: no such file (one key per line, '# comments')")
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, *label = line.split(None, 1)
            if len(key) < 8:
                raise ConfigError(
                    f"{path}:{i}: API key is shorter than 8 characters; use a longer one"
                )
            out[key] = label[0].strip() if label else key_id(key)
    return out


class KeyChecker:
    def __init__(self, keys: dict[str, str]):
        self._keys = keys

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None) -> str | None:
        """The label of a valid ``Bearer`` key, or None. Constant-time comparison."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        given = authorization[7:].strip().encode()
        found = None
        for key, label in self._keys.items():
            if hmac.compare_digest(given, key.encode()):
                found = label
        return found


class RateLimiter:
    """Sliding one-minute window of request times per key."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def retry_after(self, who: str, now: float | None = None) -> int:
        """0 if ``who`` may make a request now (and records it); else seconds to wait."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(who, deque())
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(1, int(hits[0] + 60.0 - now + 0.999))
        hits.append(now)
        return 0
