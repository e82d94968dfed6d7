"""Serving the app: a local HTTP server (werkzeug's, threaded) on 127.0.0.1 by default."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Sequence

from .session import Explorer

#: The address the app listens on unless told otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(instance: Path, vary: Sequence[str] = (), host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """The server of the app for ``instance`` (not yet serving; ``port`` 0: any free one).
    Raises InstanceError / SweepError for a bad instance or --vary, OSError for a port."""
    from werkzeug.serving import make_server as werkzeug_server

    from .page import make_app

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    explorer = Explorer(instance, vary)
    app = make_app(explorer)
    server = werkzeug_server(host, port, app.server, threaded=True)
    return server, explorer


def address(server) -> str:
    host = server.host if ":" not in server.host else f"[{server.host}]"
    return f"http://{host}:{server.port}/"
