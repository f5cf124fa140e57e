"""``persona-evolve worlds``: the named simulated worlds, one line each."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("worlds", help="list the simulated worlds (model families) for --world")
    p.add_argument(
        "--json", action="store_true", help="print [{name, summary, knobs}] (knobs: what it changes)"
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from generators.sim.worlds import WORLDS

    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": w.name,
                        "summary": w.summary,
                        "knobs": {k: getattr(w.knobs, k) for k in w.changes},
                    }
                    for w in WORLDS.values()
                ],
                indent=2,
            )
        )
        return 0
    width = max(len(name) for name in WORLDS)
    print("SIMULATED worlds (labelled test beds standing for model families; --world NAME, [world] preset):")
    for world in WORLDS.values():
        print(f"  {world.name:<{width}}  {world.summary}")
    return 0
