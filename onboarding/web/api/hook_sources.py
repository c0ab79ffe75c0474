"""The systems allowed to launch projects through ``/hooks/launch/{source}``, over HTTP (admin scope), as
``onboarding hook add|list|remove``.

- ``GET /api/v1/hook-sources`` lists them (never their secrets);
- ``PUT /api/v1/hook-sources/{name}`` adds one or replaces it: the signature scheme, the secret, the mapping (YAML
  text) and the public URL the sender calls when a proxy stands between; every problem is answered at once;
- ``DELETE /api/v1/hook-sources/{name}`` removes one: its deliveries are refused from then on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.hook_signatures import Scheme
from onboarding.errors import HookSourceNotFound
from onboarding.services.hooks import HookSource
from onboarding.web.deps import Admin, App

router = APIRouter(prefix="/hook-sources", tags=["hooks"])

SourceName = Annotated[str, Path(max_length=64, description="The source's name, as in /hooks/launch/{name}.")]


class HookSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: Scheme = Field(Scheme.generic, description="How deliveries are signed.")
    secret: str = Field(max_length=500, description="The shared secret deliveries are signed with.")
    mapping: str = Field(max_length=64 * 1024, description="The mapping from payload fields to launch fields (YAML).")
    public_url: str | None = Field(
        None, max_length=2000, description="The scheme, host and path prefix the sender calls, when a proxy differs."
    )


class HookSourceOut(BaseModel):
    name: str
    scheme: Scheme
    public_url: str | None
    created_at: datetime
    endpoint: str = Field(description="The path deliveries are POSTed to.")
    mapping: str

    @classmethod
    def of(cls, source: HookSource) -> HookSourceOut:
        return cls(
            name=source.name,
            scheme=source.scheme,
            public_url=source.public_url,
            created_at=source.created_at,
            endpoint=f"/hooks/launch/{source.name}",
            mapping=source.mapping_text,
        )


class HookSourceList(BaseModel):
    sources: list[HookSourceOut]


@router.get("", response_model=HookSourceList, summary="The systems allowed to launch projects")
def list_sources(app: App, _key: Admin) -> HookSourceList:
    return HookSourceList(sources=[HookSourceOut.of(s) for s in app.hooks.sources()])


@router.put(
    "/{name}",
    response_model=HookSourceOut,
    summary="Add a source, or replace it",
    responses={201: {"model": HookSourceOut, "description": "The source was added"}},
)
def put_source(name: SourceName, body: HookSourceIn, response: Response, app: App, _key: Admin) -> HookSourceOut:
    try:
        app.hooks.source(name)
        existed = True
    except HookSourceNotFound:
        existed = False
    source = app.hooks.add_source(
        name,
        secret=body.secret,
        mapping_text=body.mapping,
        scheme=body.scheme,
        public_url=body.public_url,
        replace=True,
    )
    response.status_code = 200 if existed else 201
    return HookSourceOut.of(source)


@router.delete("/{name}", status_code=204, summary="Remove a source: its deliveries are refused from then on")
def remove_source(name: SourceName, app: App, _key: Admin) -> Response:
    app.hooks.remove_source(name)
    return Response(status_code=204)
