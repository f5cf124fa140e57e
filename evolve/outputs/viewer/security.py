"""The viewer's guard: read-only methods, the access token, the Host check and security
headers, as one ASGI middleware.

* Only GET and HEAD are served (405 otherwise): no endpoint can change anything.
* Bound to a loopback address, requests must carry a loopback ``Host`` (a page on another
  site cannot reach the viewer through DNS rebinding) and need no token.
* Bound anywhere else, every request needs the access token printed by ``view``: as
  ``?token=...`` (the first visit; the guard then sets an HttpOnly, SameSite=Strict cookie
  so links and the page's own requests work), the cookie, or ``Authorization: Bearer``.
  Anything else gets 403.
* Every response carries a strict Content-Security-Policy (scripts only from the viewer
  itself; no inline script), ``nosniff``, ``no-referrer`` (the token never leaks in a
  Referer) and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import ipaddress
import secrets
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable, Collection
from urllib.parse import parse_qs

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Name of the query parameter and cookie that carry the access token.
TOKEN_NAME = "token"
COOKIE_NAME = "pe_view_token"
#: Host names accepted when the viewer is bound to a loopback address.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    text = host.strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random access token (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def _host_name(value: str) -> str:
    """``Host`` header value without its port (IPv6 brackets removed)."""
    v = value.strip().lower()
    if v.startswith("["):
        return v[1 : v.find("]")] if "]" in v else v[1:]
    return v.rsplit(":", 1)[0] if v.count(":") == 1 else v


class Guard:
    """ASGI middleware enforcing the rules of the module docstring.

    ``token``: required access token (None: no token, for loopback binds);
    ``allowed_hosts``: accepted ``Host`` names (None: any).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, allowed_hosts: Collection[str] | None) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "read-only viewer: only GET and HEAD", extra=((b"allow", b"GET, HEAD"),))
            return
        if self.allowed_hosts is not None and _host_name(headers.get("host", "")) not in self.allowed_hosts:
            await _plain(
                send, 403, "forbidden: unexpected Host header (open the viewer at the address it printed)"
            )
            return
        set_cookie = False
        if self.token is not None:
            given, from_query = self._given(scope, headers)
            if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
                await _plain(
                    send,
                    403,
                    "forbidden: this viewer needs the access token printed by "
                    "`persona-evolve view` (add ?token=...)",
                )
                return
            set_cookie = from_query

        async def send_wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                hdrs = [
                    h
                    for h in message.get("headers", [])
                    if h[0].lower() not in {k for k, _ in SECURITY_HEADERS}
                ]
                hdrs.extend(SECURITY_HEADERS)
                if set_cookie and self.token is not None:
                    cookie = f"{COOKIE_NAME}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    hdrs.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": hdrs}
            await send(message)

        await self.app(scope, receive, send_wrapped)

    @staticmethod
    def _given(scope: Scope, headers: dict[str, str]) -> tuple[str | None, bool]:
        """(token presented, came from the query string?)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get(TOKEN_NAME):
            return query[TOKEN_NAME][-1], True
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                return None, False
            if COOKIE_NAME in jar:
                return jar[COOKIE_NAME].value, False
        return None, False


async def _plain(send: Send, status: int, text: str, *, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
