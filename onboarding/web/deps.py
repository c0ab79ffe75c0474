"""What handlers are handed: the process's ``Application`` and the API key a request carries.

``require_scope(Scope.write)`` in a route's dependencies checks the
``Authorization: Bearer <key>`` header and gives the key, whose name is the actor
of every change the request makes. A key the service remembers as valid is checked
on the event loop; only a key the store must be asked about goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.services.keys import ApiKey, Scope

_bearer = HTTPBearer(auto_error=False, description="An API key made with `onboarding api-key create`.")


async def application(request: Request) -> Application:
    """The process's Application (async: no I/O, so no hop to the thread pool)."""
    app: Application = request.app.state.application
    return app


App = Annotated[Application, Depends(application)]


def require_scope(needs: Scope | str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that admits a request whose key allows ``needs``, and gives that key."""
    scope = Scope(needs)

    async def key_of(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKey:
        app: Application = request.app.state.application
        secret = credentials.credentials if credentials is not None else None
        if (known := app.keys.remembered(secret, needs=scope)) is not None:
            return known
        return await run_in_threadpool(app.keys.authenticate, secret, needs=scope)

    return key_of


Reader = Annotated[ApiKey, Depends(require_scope(Scope.read))]
Writer = Annotated[ApiKey, Depends(require_scope(Scope.write))]
Admin = Annotated[ApiKey, Depends(require_scope(Scope.admin))]
