"""Helpers shared by the ``generate`` and ``score`` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from evolve.cli.errors import CLIError
from evolve.outputs.labels import CLI_SIM_NOTE as SIM_NOTE


def load_generator(ref: str) -> str:
    """Program text from ``seed:NAME``, ``concordia:FILE.py[:Class]`` or a file path."""
    if ref.startswith("concordia:"):
        from generators.concordia.wrap import ConcordiaRefError, load_concordia_generator

        try:
            return load_concordia_generator(ref)
        except ConcordiaRefError as exc:
            raise CLIError(f"--generator: {exc}") from None
    if ref.startswith("seed:"):
        from generators.seeds import SEED_NAMES, load_seed

        name = ref.split(":", 1)[1]
        if name not in SEED_NAMES:
            raise CLIError(f"--generator: unknown seed '{name}' (choose from {', '.join(SEED_NAMES)})")
        return load_seed(name)
    path = Path(ref)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"--generator: no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise CLIError(f"--generator: {path} is not UTF-8 (byte {exc.start})") from None


def load_context_arg(ref: str) -> Any:
    from generators.context_loader import ContextError, resolve_context

    try:
        return resolve_context(ref)
    except ContextError as exc:
        raise CLIError(f"--context: {str(exc).splitlines()[0]}") from None


def sim_knobs(world: str) -> Any:
    """The :class:`generators.sim.SimKnobs` of the world named ``world`` (``--world``); an
    unknown name is a one-line :class:`CLIError`."""
    from generators.sim.worlds import UnknownWorld, get_world

    try:
        return get_world(world).knobs
    except UnknownWorld as exc:
        raise CLIError(f"--world: {exc}", exit_code=2) from None


def build_roles_client(
    model: str, api_base: str | None, api_key_env: str | None = None, world: str = "default"
) -> Any:
    """A client whose ``persona`` and ``respondent`` roles use ``model`` (on ``sim``: the
    simulated world named ``world``)."""
    from generators.llm import ModelConfig, build_client
    from generators.sim import SimLLM

    cfg = ModelConfig(model=model, api_base=api_base, api_key_env=api_key_env)
    return build_client({"persona": cfg, "respondent": cfg}, sim_backend=SimLLM(knobs=sim_knobs(world)))


def check_model(role: str, model: str, api_base: str | None = None, api_key_env: str | None = None) -> None:
    """Pre-flight one real model (one tiny call) before a command uses it; a failure is a
    one-line :class:`CLIError` naming the role, the model and the cause. ``sim`` needs none."""
    if model == "sim":
        return
    from generators.llm import ModelConfig
    from generators.llm.preflight import PreflightError, preflight

    try:
        preflight({role: ModelConfig(model=model, api_base=api_base, api_key_env=api_key_env)})
    except PreflightError as exc:
        raise CLIError(str(exc)) from None


def read_personas(path: str) -> list[dict[str, Any]]:
    """Personas from a JSONL file (one object per line with ``name`` and ``description``; the
    origin record ``generate`` adds is checked: :mod:`generators.population_record`)."""
    from generators.population_record import origin_of

    personas = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CLIError(f"--personas: no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise CLIError(f"--personas: {path} is not UTF-8 (byte {exc.start})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CLIError(f"{path}:{lineno}: not JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise CLIError(f"{path}:{lineno}: not JSON (nested too deeply)") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("description"), str):
            raise CLIError(f"{path}:{lineno}: a persona must be an object with a 'description' string")
        obj.setdefault("name", f"persona {lineno}")
        try:
            origin_of(obj)
        except ValueError as exc:
            raise CLIError(f"{path}:{lineno}: {exc}") from None
        personas.append(obj)
    if len(personas) < 2:
        raise CLIError(f"{path}: need at least 2 personas to score, found {len(personas)}")
    return personas


def sim_key(*, create: bool) -> bytes | None:
    """The sim attestation key (:func:`generators.attest_key.load_key`); a key file that
    cannot be trusted is a one-line :class:`CLIError`."""
    from generators.attest_key import AttestationKeyError, load_key

    try:
        return load_key(create=create)
    except AttestationKeyError as exc:
        raise CLIError(str(exc)) from None


def warn_sim(model: str, world: str = "default") -> None:
    """The SIMULATED note on stderr when ``model`` is the sim (naming a world other than
    the default)."""
    if model == "sim":
        sim_knobs(world)  # an unknown world is an error before anything is printed
        print(SIM_NOTE if world == "default" else f"{SIM_NOTE} (world '{world}')", file=sys.stderr)
