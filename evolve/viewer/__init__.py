"""``persona-evolve view``: a local, read-only web viewer over an archive.

    from evolve.viewer import create_app
    app = create_app("runs/x/archive.db")          # a Starlette (ASGI) app

Routes and pages: :mod:`evolve.viewer.app`; access rules: :mod:`evolve.viewer.security`;
serving: :mod:`evolve.viewer.server`.
"""

from evolve.viewer.app import create_app
from evolve.viewer.security import is_loopback, new_token

__all__ = ["create_app", "is_loopback", "new_token"]
