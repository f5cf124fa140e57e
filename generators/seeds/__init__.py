"""The three seed generator programs (program text, not imported modules).

``load_seed("naive")`` or ``load_seed("seed:naive")`` returns the source of
``generators/seeds/naive.py``; likewise ``batch`` and ``sobol``.
"""

from __future__ import annotations

from pathlib import Path

SEED_NAMES: tuple[str, ...] = ("naive", "batch", "sobol")

_DIR = Path(__file__).resolve().parent


def load_seed(name: str) -> str:
    """Program text of seed ``name`` (``"naive"``, ``"batch"``, ``"sobol"``, optionally
    prefixed ``"seed:"``). Raises ValueError for an unknown name."""
    key = name.split(":", 1)[1] if name.startswith("seed:") else name
    if key not in SEED_NAMES:
        raise ValueError(f"unknown seed program {name!r} (choose from {', '.join(SEED_NAMES)})")
    return (_DIR / f"{key}.py").read_text(encoding="utf-8")
