"""``persona-evolve view``: a local, read-only web viewer over an archive.

    from evolve.outputs.viewer import create_app
    app = create_app("runs/x/archive.db")          # a Starlette (ASGI) app

Routes and pages: :mod:`evolve.outputs.viewer.app`; access rules: :mod:`evolve.outputs.viewer.security`;
serving: :mod:`evolve.outputs.viewer.server`.
"""

from evolve.outputs.viewer.app import create_app
from evolve.outputs.viewer.security import is_loopback, new_token

__all__ = ["create_app", "is_loopback", "new_token"]
