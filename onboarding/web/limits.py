"""How much of a request body the server reads: ``MAX_BODY_BYTES``, and more for a blueprint published as text.

``BodyLimit`` wraps the whole app (an ASGI middleware), so that every route, page
and hook has the limit before any of it reads a byte: a body that says a larger
``Content-Length`` is answered ``413`` (``payload-too-large``, problem+json) without
being read; one streamed without its length is counted as it arrives and answered
``413`` the moment it passes the limit, the route then seeing the client gone. A
refused request acts on nothing. Without it, a client could make a worker hold a
body of any size in memory (an unauthenticated hook delivery, a sign-in form).

Not here: what a route does with a body within the limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onboarding.errors import Problem
from onboarding.web.problems import MEDIA_TYPE, problem_document

MAX_BODY_BYTES = 1024 * 1024  # a launch, a change, a form, a hook delivery: far less
BLUEPRINTS_PATH = "/api/v1/blueprints"


def blueprint_body_limit(max_blueprint_bytes: int) -> int:
    """A blueprint publish carries its YAML as a JSON string, where one byte of text may take six characters
    (``\\u001b``): the largest blueprint the server accepts, escaped, and room for the rest of the body."""
    return 6 * max_blueprint_bytes + MAX_BODY_BYTES


class BodyLimit:
    """Reads at most ``limit_of(method, path)`` bytes of each request's body (see the module)."""

    def __init__(self, app: ASGIApp, *, limit_of: Callable[[str, str], int]) -> None:
        self._app = app
        self._limit_of = limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._limit_of(scope["method"], scope["path"])
        declared = _content_length(dict(scope["headers"]))
        if declared is not None and declared > limit:
            await _too_large(scope, send, limit, f"the body is {declared:,} bytes")
            return
        received = 0
        answered = started = False

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    if not started:  # (a route that answered before reading all of it keeps its answer)
                        await _too_large(scope, send, limit, "the body goes on past the limit")
                    return {"type": "http.disconnect"}  # the route stops reading: its client is gone
            return message

        async def unless_answered(message: Message) -> None:
            nonlocal started
            if not answered or started:
                started = True
                await send(message)

        await self._app(scope, counted, unless_answered)


def limits(max_blueprint_bytes: int) -> Callable[[str, str], int]:
    """The limit of each request: ``MAX_BODY_BYTES``, and ``blueprint_body_limit`` for a blueprint publish."""
    blueprints = blueprint_body_limit(max_blueprint_bytes)

    def limit_of(method: str, path: str) -> int:
        return blueprints if method == "POST" and path.rstrip("/") == BLUEPRINTS_PATH else MAX_BODY_BYTES

    return limit_of


def _content_length(headers: Mapping[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _too_large(scope: Scope, send: Send, limit: int, said: str) -> None:
    problem = Problem(
        "payload-too-large",
        f"{said}; at most {limit:,} bytes are read",
        ("body",),
        "send a smaller body: the fields the request needs",
    )
    document: dict[str, Any] = problem_document(413, [problem], instance=scope["path"])
    body = json.dumps(document).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode("ascii")),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),  # what is left of the body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
