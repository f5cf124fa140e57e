"""The plain form of a config: :func:`config_to_dict` (what ``run --print-config`` prints and
the archive stores with a run) and :func:`to_toml` (tomli-w)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import tomli_w


def config_to_dict(config: Any) -> Any:
    """Plain (JSON/TOML-friendly) form of a config or any part of it: dataclasses become
    dicts, tuples lists. A mapping field left at its empty default (a role's ``extra``) is
    left out, so the printed and stored config shows only what was set."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {
            f.name: config_to_dict(getattr(config, f.name))
            for f in dataclasses.fields(config)
            if not _empty_default(f, getattr(config, f.name))
        }
    if isinstance(config, (tuple, list)):
        return [config_to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {k: config_to_dict(v) for k, v in config.items()}
    return config


def _empty_default(f: dataclasses.Field[Any], value: Any) -> bool:
    return f.default_factory is dict and isinstance(value, Mapping) and not value


def _without_none(value: Any) -> Any:
    """``value`` with every None left out of its tables and arrays (TOML has no null)."""
    if isinstance(value, Mapping):
        return {key: _without_none(v) for key, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value if v is not None]
    return value


def to_toml(data: Mapping[str, Any]) -> str:
    """Render the plain config dict as TOML with tomli-w (None values are left out); the text
    reads back with :mod:`tomllib` to the same dict, None values aside."""
    return tomli_w.dumps(_without_none(data))
