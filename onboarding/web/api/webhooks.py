"""Endpoints subscribed to outbound events over HTTP (admin scope), as ``onboarding webhook add|list|remove``.

- ``GET /api/v1/webhooks`` lists the endpoints (``include_removed`` for the removed ones too);
- ``POST /api/v1/webhooks`` subscribes one: its URL, the event types, and a ``whsec_`` secret, or none to have one
  made and shown once in the answer;
- ``DELETE /api/v1/webhooks/{id}`` removes one: nothing more is queued for it, and what is queued is not delivered.

A secret is shown only in the answer that made it; lists never show one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.webhook_events import EVENT_TYPES, WebhookEndpoint
from onboarding.web.deps import Admin, App

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where events are POSTed (https, or http for a local receiver).")
    events: list[str] = Field(description=f"Event types, of: {', '.join(EVENT_TYPES)}.")
    secret: str | None = Field(
        None,
        max_length=200,
        description="A Standard Webhooks secret (whsec_...); none: one is made and shown once.",
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    created_at: datetime
    removed: bool

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            created_at=endpoint.created_at,
            removed=endpoint.disabled,
        )


class WebhookMade(WebhookOut):
    secret: str | None = Field(description="The secret made for it, shown this once; null when one was given.")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


@router.get("", response_model=WebhookList, summary="The endpoints subscribed to outbound events")
def list_webhooks(
    app: App,
    _key: Admin,
    include_removed: Annotated[bool, Query(description="Show removed endpoints too.")] = False,  # noqa: FBT002
) -> WebhookList:
    return WebhookList(webhooks=[WebhookOut.of(e) for e in app.webhooks.list(include_removed=include_removed)])


@router.post("", response_model=WebhookMade, status_code=201, summary="Subscribe an endpoint to outbound events")
def add_webhook(body: WebhookIn, app: App, _key: Admin) -> WebhookMade:
    made = app.webhooks.add(body.url, events=body.events, secret=body.secret)
    shown = WebhookOut.of(made.endpoint).model_dump()
    return WebhookMade(**shown, secret=made.endpoint.secret if made.secret_made else None)


@router.delete("/{endpoint_id}", response_model=WebhookOut, summary="Stop sending events to an endpoint")
def remove_webhook(endpoint_id: Annotated[int, Path(ge=1, le=2**62)], app: App, _key: Admin) -> WebhookOut:
    return WebhookOut.of(app.webhooks.remove(endpoint_id))
