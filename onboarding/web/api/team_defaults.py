"""The team's default people for vendor roles, by segment, over HTTP, as ``onboarding team set|list|unset``.

- ``GET /api/v1/team/defaults`` (read scope) lists them;
- ``PUT /api/v1/team/defaults/{role}`` (admin) makes a person the default for the role in a segment (``segment``
  left out: every segment without its own), in place of the one there was;
- ``DELETE /api/v1/team/defaults/{role}?segment=...`` (admin) removes one.

A launch binds the vendor roles it is not given to these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.messages import Person
from onboarding.core.team import TeamDefault
from onboarding.web.deps import Admin, App, Reader

router = APIRouter(prefix="/team/defaults", tags=["team"])

Role = Annotated[str, Path(max_length=64, description="A vendor role key, as blueprints declare it.")]


class DefaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="Default: the email address.")
    email: str = Field(max_length=320)
    time_zone: str = Field("UTC", max_length=64, description="IANA name, e.g. America/Chicago.")
    segment: str | None = Field(None, max_length=64, description="Left out: every segment without its own default.")


class DefaultOut(BaseModel):
    role: str
    segment: str
    name: str
    email: str
    time_zone: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, d: TeamDefault) -> DefaultOut:
        p = d.person
        return cls(
            role=d.role,
            segment=d.segment,
            name=p.name,
            email=p.email,
            time_zone=p.timezone,
            updated_at=d.updated_at,
            updated_by=d.updated_by,
        )


class DefaultSetOut(DefaultOut):
    replaced: DefaultOut | None = Field(description="The default there was for this role and segment.")
    known_role: bool = Field(description="False: no published blueprint has this role yet.")


class DefaultList(BaseModel):
    defaults: list[DefaultOut]


@router.get("", response_model=DefaultList, summary="The team's default people, by role and segment")
def list_defaults(app: App, _key: Reader) -> DefaultList:
    return DefaultList(defaults=[DefaultOut.of(d) for d in app.team.defaults()])


@router.put("/{role}", response_model=DefaultSetOut, summary="Make a person the default for a vendor role")
def set_default(role: Role, body: DefaultIn, app: App, key: Admin) -> DefaultSetOut:
    person = Person(body.name or body.email, body.email, body.time_zone)
    done = app.team.set(role, person, segment=body.segment, by=key.name)
    return DefaultSetOut(
        **DefaultOut.of(done.default).model_dump(),
        replaced=DefaultOut.of(done.replaced) if done.replaced else None,
        known_role=done.known_role,
    )


@router.delete("/{role}", response_model=DefaultOut, summary="Remove the default of a role in a segment")
def unset_default(
    role: Role,
    app: App,
    _key: Admin,
    segment: Annotated[str | None, Query(max_length=64, description="Left out: the every-segment default.")] = None,
) -> DefaultOut:
    return DefaultOut.of(app.team.unset(role, segment=segment))
