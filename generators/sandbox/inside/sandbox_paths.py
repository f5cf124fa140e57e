"""Where an interpreter keeps the modules a sandbox child may load (stdlib only).

Run as a script by the parent, with the interpreter the child will use and the modules the
child will preload (``python -I -B sandbox_paths.py '["numpy", "scipy"]'``); prints one
JSON object:

* ``site``: the site-packages directories those modules came from (the child adds them to
  ``sys.path``);
* ``read_only``: what Landlock leaves readable: the interpreter's own standard library (and
  ``lib-dynload``; never a venv's whole ``lib`` directory, which holds every installed
  package), and the top-level package directory of every module the import loaded from a
  site-packages directory, with its bundled ``<package>.libs``. Nothing of the project and
  no home directory.

A fresh interpreter is what makes the answer exact: only the modules these imports load
are counted, never those of the process that asks.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def locate(modules: list[str]) -> dict[str, list[str]]:
    """Import ``modules`` (failures are skipped: the child reports them) and return the
    ``site`` and ``read_only`` lists described above."""
    before = set(sys.modules)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the child names what it cannot import
            pass
    sites = sorted(
        {
            os.path.realpath(p)
            for p in sys.path
            if p and os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)
        }
    )
    stdlib = os.path.dirname(os.path.realpath(os.__file__))
    read_only = {stdlib} | {p for p in (os.path.join(stdlib, "lib-dynload"),) if os.path.isdir(p)}
    used: set[str] = set()
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if name in before or not origin:
            continue
        origin = os.path.realpath(origin)
        for site in sites:
            if origin.startswith(site + os.sep):
                top = os.path.relpath(origin, site).split(os.sep)[0]
                used.add(site)
                read_only.add(os.path.join(site, top))
                libs = os.path.join(site, (top[:-3] if top.endswith(".py") else top) + ".libs")
                if os.path.isdir(libs):
                    read_only.add(libs)
    return {"site": [s for s in sites if s in used], "read_only": sorted(read_only)}


if __name__ == "__main__":
    print(json.dumps(locate(json.loads(sys.argv[1]))))
