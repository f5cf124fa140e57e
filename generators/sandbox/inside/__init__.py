"""Code that runs *inside* the sandbox child.

The child's ``sys.path`` holds this directory itself (not the project root), so these
modules import one another as top-level modules (``import sandbox_runtime``) and import
nothing of the project. The parent imports only the stdlib-only modules
(:mod:`sandbox_runtime`, :mod:`sandbox_errors`) through this package.
"""
