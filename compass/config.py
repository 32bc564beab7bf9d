"""Typed configs: dataclasses with strict dict round-trips and dotted overrides.

Every stage keeps its config dataclass next to the code it builds (``compass/<stage>/config.py``)
and subclasses :class:`Config`. A recipe (``compass/recipes``) composes them into one tree, and the
command line changes any leaf with a dotted override such as ``--model.n_layers=4``. A key that
does not exist is an error that names the key and the closest valid one, because a silently
ignored typo in a training config costs a whole run.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Self, get_args, get_origin


class ConfigError(ValueError):
    """A config key or value that cannot be used; the message says which and how to fix it."""


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Turn ``value`` (from JSON or from a command-line string) into an instance of ``tp``."""
    tp, optional = _unwrap_optional(tp)
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null")):
        if optional:
            return None
        raise ConfigError(f"config key '{key}' may not be null")
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, Config):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' expects a mapping for {tp.__name__}")
        return tp.from_dict(value, prefix=key + ".")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"config key '{key}' = {value!r}: choose one of {list(choices)}")
        return value
    if origin in (list, tuple):
        (item_tp, *_) = get_args(tp) or (Any,)
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v]
        items = [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if isinstance(value, str):
            value = json.loads(value)
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"config key '{key}' = {value!r}: expected true or false")
    if tp in (int, float, str):
        try:
            if tp is int and isinstance(value, str):
                return int(float(value)) if "e" in value.lower() else int(value)
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key '{key}' = {value!r}: expected {tp.__name__}") from None
    return value


@dataclasses.dataclass
class Config:
    """Base of every config: strict ``from_dict``, ``to_dict``, dotted overrides, validation."""

    def validate(self) -> None:
        """Check cross-field consistency; subclasses raise :class:`ConfigError` naming fields."""

    def validate_all(self) -> None:
        for f in dataclasses.fields(self):
            child = getattr(self, f.name)
            if isinstance(child, Config):
                child.validate_all()
        self.validate()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], prefix: str = "") -> Self:
        types_ = _field_types(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ConfigError(_unknown_key_message(prefix + key, [prefix + n for n in names]))
        kwargs = {k: _coerce(v, types_[k], prefix + k) for k, v in data.items()}
        return cls(**kwargs)

    def dotted_keys(self, prefix: str = "") -> list[str]:
        keys = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                keys += v.dotted_keys(prefix + f.name + ".")
            else:
                keys.append(prefix + f.name)
        return keys

    def override(self, dotted: str, value: Any) -> None:
        """Set one leaf by dotted path, converting ``value`` to the field's declared type."""
        node: Config = self
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            names = {f.name for f in dataclasses.fields(node)}
            if part not in names:
                raise ConfigError(_unknown_key_message(dotted, self.dotted_keys()))
            if i == len(parts) - 1:
                setattr(node, part, _coerce(value, _field_types(type(node))[part], dotted))
                return
            child = getattr(node, part)
            if isinstance(child, dict) and i == len(parts) - 2:
                # One entry of a dict field (``--datagen.mix.order=0.1``); the entry's type is
                # the dict's declared value type. A new key is the dict's own validate's call.
                _, item_tp = get_args(_field_types(type(node))[part]) or (str, Any)
                child[parts[-1]] = _coerce(value, item_tp, dotted)
                return
            if not isinstance(child, Config):
                raise ConfigError(f"config key '{'.'.join(parts[: i + 1])}' has no sub-keys")
            node = child

    def apply_overrides(self, overrides: dict[str, Any]) -> Self:
        for k, v in overrides.items():
            self.override(k, v)
        self.validate_all()
        return self

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config ({e})") from None
        return cls.from_dict(data)


def _unknown_key_message(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return f"unknown config key '{key}'{hint} (run with --dry-run to see every key)"


def parse_overrides(args: list[str]) -> dict[str, str]:
    """``['--model.n_layers=4', '--seed', '3']`` -> ``{'model.n_layers': '4', 'seed': '3'}``."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(
                f"unexpected argument '{arg}': overrides look like --section.key=value"
            )
        body = arg[2:]
        if "=" in body:
            key, value = body.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            key, value = body, args[i + 1]
            i += 1
        else:
            raise ConfigError(f"override '{arg}' has no value: write --{body}=VALUE")
        out[key.replace("-", "_")] = value
        i += 1
    return out
