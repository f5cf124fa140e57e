"""``persona-evolve view``: a local, read-only web viewer over an archive.

    persona-evolve view --db PATH [--host 127.0.0.1] [--port 8765] [--run ID]

Binds 127.0.0.1 by default. Binding any other address requires an access token: the
command generates one and prints the URL that carries it; requests without it get 403.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from evolve.cli.errors import CLIError

DEFAULT_PORT = 8765


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "view",
        help="a local web viewer over an archive (read-only; live while a run writes)",
        description="Serve a read-only web viewer over an archive: run overview, grids, programs, rare "
        "configurations, comparisons. Safe while a run is writing the archive; pages update as it goes. "
        "Binds 127.0.0.1 unless --host says otherwise; any other address requires the access token it "
        "prints.",
    )
    p.add_argument("--db", required=True, help="archive database (path or SQLAlchemy URL)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)"
    )
    p.add_argument(
        "--run", type=int, help="run id to check exists (pages default to the latest run; ?run=N picks one)"
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from archive.reader import ReaderError
    from evolve.outputs.viewer import create_app, is_loopback, new_token
    from evolve.outputs.viewer.server import bind, serve, url_of

    if not 0 <= args.port <= 65535:
        raise CLIError(f"view: --port must be in 0..65535, got {args.port}", exit_code=2)
    loopback = is_loopback(args.host)
    token = None if loopback else new_token()
    try:
        app = create_app(
            args.db,
            run_id=args.run,
            token=token,
            allowed_hosts=("127.0.0.1", "localhost", "::1") if loopback else None,
        )
    except ReaderError as exc:
        raise CLIError(f"view: {exc}") from None
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise CLIError(f"view: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    url = url_of(sock, args.host)
    if token is None:
        print(f"persona-evolve viewer: {url}/  (read-only; Ctrl-C to stop)", flush=True)
    else:
        print(f"persona-evolve viewer: {url}/?token={token}", flush=True)
        print(
            f"  bound to {args.host}: every request needs this access token (requests without it get 403)",
            file=sys.stderr,
            flush=True,
        )
    serve(app, sock)
    return 0
