"""Reading a run config: a TOML file or a plain mapping, checked by pydantic against the
section dataclasses, then by :mod:`evolve.config.rules`; and ``section.key`` overrides.

The mapping is checked strictly, as JSON is: a string is never read as a number, nor a
number as true/false; an integer is a valid float. Every failure is one
:class:`ConfigError` line naming the key (and the file, for :func:`load_config`).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from evolve.config.errors import ConfigError, from_validation, suggest
from evolve.config.rules import check_rules
from evolve.config.run_sections import RunConfig
from evolve.config.writing import config_to_dict

_ADAPTER: TypeAdapter[RunConfig] = TypeAdapter(RunConfig)


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """Build and check a :class:`RunConfig` from a plain mapping (TOML-shaped; dataclass
    values are taken in their plain form). A top-level ``descriptors`` list (the form
    before the ``[archive]`` table, as runs stored then hold it) is read as
    ``archive.descriptors``. Raises :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"config: expected a table, got {type(data).__name__}")
    plain = config_to_dict(_legacy_descriptors(data))
    try:
        text = json.dumps(plain, default=str)
    except (TypeError, ValueError) as exc:  # a key that is not a string, or a circular value
        raise ConfigError(f"config: not a plain table of values ({exc})") from None
    try:
        config = _ADAPTER.validate_json(text, strict=True)
    except ValidationError as exc:
        raise from_validation(exc, RunConfig) from None
    check_rules(config)
    return config


def validate_config(config: RunConfig) -> None:
    """Check a config built or changed in code (flags, :func:`replace_path`) as a file
    would be checked: types, ranges and rules. Raises :class:`ConfigError`."""
    config_from_dict(config_to_dict(config))


def _legacy_descriptors(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if "descriptors" not in data:
        return data
    archive = data.get("archive", {})
    if isinstance(archive, Mapping) and "descriptors" in archive:
        raise ConfigError(
            "descriptors: declared both at the top level and in [archive]; keep [[archive.descriptors]]"
        )
    rest = {k: v for k, v in data.items() if k != "descriptors"}
    return {
        **rest,
        "archive": {**(archive if isinstance(archive, Mapping) else {}), "descriptors": data["descriptors"]},
    }


def load_config(path: str | Path) -> RunConfig:
    """Read a TOML file; every error names the file and the key. Relative generator-file
    paths of ``[seeds] programs`` are taken against the file's folder."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        config = config_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return with_seed_paths(config, path.parent)


def with_seed_paths(config: RunConfig, base: Path) -> RunConfig:
    """``config`` with every relative generator-file path of ``[seeds] programs`` made
    absolute against ``base`` (a config file's folder, or the current directory)."""
    from evolve.common.seed_programs import resolve_file_ref

    programs = tuple(resolve_file_ref(ref, base) for ref in config.seeds.programs)
    return dataclasses.replace(config, seeds=dataclasses.replace(config.seeds, programs=programs))


def replace_path(config: RunConfig, dotted: str, value: Any) -> RunConfig:
    """A copy of ``config`` with ``section.key`` set to ``value`` (command-line flags,
    ``--set KEY=VALUE``). An unknown key is a :class:`ConfigError` with a suggestion; the
    value is checked by :func:`validate_config`, once every override is applied."""
    replaced: RunConfig = _replaced(config, dotted, value, "")
    return replaced


def _replaced(node: Any, dotted: str, value: Any, done: str) -> Any:
    """A copy of the dataclass ``node`` (reached by ``done``) with the dotted path under it set to
    ``value``."""
    head, _, rest = dotted.partition(".")
    where = f"{done}.{head}" if done else head
    names = [f.name for f in dataclasses.fields(node)] if dataclasses.is_dataclass(node) else []
    if head not in names:
        raise ConfigError(f"{where}: unknown key{suggest(head, names)}" if names else f"{where}: not a table")
    new = _replaced(getattr(node, head), rest, value, where) if rest else value
    try:
        return dataclasses.replace(node, **{head: new})
    except ValueError as exc:  # the dataclass's own check
        raise ConfigError(f"{where}: {exc}") from None
