"""Redirects name a path on the server asked, never the site a request's Host header claims.

Starlette answers a path with a trailing slash (``/team/``) by a redirect to the path
without it, and writes the redirect as an absolute URL built from the request's Host
header. Any client may send any Host: a shared cache keyed on the path would then hand
other readers a redirect to that site. ``RelativeRedirects`` wraps the whole app (an
ASGI middleware) and rewrites a ``Location`` that points at the request's own claimed
host (the Host header, or the server's address without one) into its path and query
(RFC 9110 §10.2.2 allows a relative reference), which a browser resolves against the
URL it asked. The engine's own redirects are paths already; a ``Location`` on another
site is left as it is.

Not here: which paths redirect (the routes, Starlette's router).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RelativeRedirects:
    """Makes a redirect to the request's own claimed host a path on this server (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        claimed = _claimed_hosts(scope)

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (name, _relative(value, claimed) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self._app(scope, receive, relative)


def _claimed_hosts(scope: Scope) -> frozenset[str]:
    """What a URL Starlette builds for this request may name as its host: the Host header's value, else the
    server's address (lower case, as URLs compare hosts)."""
    hosts = {value.decode("latin-1").lower() for name, value in scope.get("headers", []) if name == b"host"}
    server = scope.get("server")
    if server is not None:
        host, port = server
        hosts |= {f"{host}:{port}".lower(), str(host).lower()}
    return frozenset(hosts)


def _relative(location: bytes, claimed: frozenset[str]) -> bytes:
    """``location`` as a path and query when it is an absolute http(s) URL on a claimed host, else as it is."""
    try:
        url = urlsplit(location.decode("latin-1"))
    except ValueError:
        return location
    if url.scheme not in ("http", "https") or url.netloc.lower() not in claimed:
        return location
    path = url.path or "/"
    if path.startswith("//"):  # a path read as a network location ("//evil.example") must stay a path
        path = "/" + path.lstrip("/")
    relative = path + (f"?{url.query}" if url.query else "") + (f"#{url.fragment}" if url.fragment else "")
    return relative.encode("latin-1")
