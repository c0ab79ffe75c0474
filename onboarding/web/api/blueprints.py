"""The blueprint registry over HTTP: ``GET /api/v1/blueprints`` and ``GET /api/v1/blueprints/{key}`` (read scope)
read the published blueprints; ``POST /api/v1/blueprints`` (admin) publishes one given as YAML text, as
``onboarding blueprint publish`` does a file: 201 for a new version, 200 when the same text was published before,
409 when its key and version hold other text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.blueprint_versions import PublishedVersion
from onboarding.web.deps import Admin, App, Reader

router = APIRouter(prefix="/blueprints", tags=["blueprints"])


class BlueprintVersion(BaseModel):
    """One published version of a blueprint."""

    key: str
    version: str
    title: str
    content_id: str = Field(description="The SHA-256 of the published text.")
    source: str = Field(description="Where the text was read from when it was published.")
    published_at: datetime
    published_by: str

    @classmethod
    def of(cls, v: PublishedVersion) -> BlueprintVersion:
        return cls(
            key=v.key,
            version=v.version,
            title=v.title,
            content_id=v.content_id,
            source=v.source,
            published_at=v.published_at,
            published_by=v.published_by,
        )


class BlueprintSummary(BaseModel):
    key: str
    title: str = Field(description="The latest version's title.")
    latest: str = Field(description="The highest version by semantic-version order.")
    versions: list[BlueprintVersion] = Field(description="Every published version, oldest first.")


class BlueprintList(BaseModel):
    blueprints: list[BlueprintSummary]


class BlueprintDetail(BlueprintVersion):
    latest: bool = Field(description="Whether this is the latest version of its key.")
    versions: list[str] = Field(description="Every published version of the key, oldest first.")
    blueprint: dict[str, Any] = Field(description="The blueprint as checked, every default filled in.")
    text: str = Field(description="The YAML text exactly as published.")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=16 * 1024 * 1024, description="The blueprint, as YAML text.")
    source: str = Field("api", max_length=200, description="Where the text comes from, kept with the version.")


class PublishedOut(BlueprintVersion):
    created: bool = Field(description="False: this version was published before with the same text.")


@router.post(
    "",
    response_model=PublishedOut,
    status_code=201,
    summary="Publish a blueprint given as YAML text",
    responses={200: {"model": PublishedOut, "description": "The same text was published before"}},
)
def publish_blueprint(body: PublishIn, response: Response, app: App, key: Admin) -> PublishedOut:
    published = app.blueprints.publish_text(body.text, source=body.source, by=key.name)
    response.status_code = 201 if published.created else 200
    return PublishedOut(**BlueprintVersion.of(published.version).model_dump(), created=published.created)


@router.get("", response_model=BlueprintList, summary="Every published blueprint, its latest and all its versions")
def list_blueprints(app: App, _key: Reader) -> BlueprintList:
    return BlueprintList(
        blueprints=[
            BlueprintSummary(
                key=b.key,
                title=b.latest.title,
                latest=b.latest.version,
                versions=[BlueprintVersion.of(v) for v in b.versions],
            )
            for b in app.blueprints.list()
        ]
    )


@router.get("/{key}", response_model=BlueprintDetail, summary="A published blueprint: its latest or a given version")
def get_blueprint(
    key: str,
    app: App,
    _key: Reader,
    version: str | None = Query(default=None, description="A published version; the latest when left out."),
) -> BlueprintDetail:
    shown = app.blueprints.show(key, version=version)
    return BlueprintDetail(
        **BlueprintVersion.of(shown.version).model_dump(),
        latest=shown.latest,
        versions=[v.version for v in shown.versions],
        blueprint=shown.loaded.blueprint.model_dump(mode="json", by_alias=True),
        text=shown.text,
    )
