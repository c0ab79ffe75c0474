"""Inbound hooks over HTTP: ``POST /hooks/launch/{source}``, a CRM's signed delivery launching a project.

Not under ``/api/v1`` and without an API key: the delivery's signature is its
authentication (``services/hooks.py``). The handler reads the raw body (the
signature is over its bytes), hands the delivery as it arrived to
``HookService.receive`` and answers 201 with the project it launched, 200 with the
project a retried delivery launched before; every refusal is problem+json.

Not here: signatures, mappings, deduplication (the service and the core).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from onboarding.core.projects import ProjectRecord
from onboarding.errors import PayloadUnreadable, Problem
from onboarding.services.hooks import HookResult
from onboarding.web.deps import App

MAX_BODY_BYTES = 1024 * 1024

router = APIRouter(prefix="/hooks", tags=["hooks"])


class PersonOut(BaseModel):
    name: str
    email: str
    time_zone: str


class LaunchedProject(BaseModel):
    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint_key: str
    blueprint_version: str
    state: str
    kickoff_on: date
    committed_go_live_on: date | None
    projected_go_live_on: date | None
    finish_on: date
    bindings: dict[str, PersonOut]


class HookLaunched(BaseModel):
    """What a delivery launched: ``created`` is false when it (or its deal) launched the project before."""

    created: bool
    repeated: bool
    delivery_id: str
    project: LaunchedProject


def _document(result: HookResult) -> HookLaunched:
    p: ProjectRecord = result.project
    return HookLaunched(
        created=result.created,
        repeated=result.repeated,
        delivery_id=result.delivery_id,
        project=LaunchedProject(
            id=p.id,
            external_id=p.external_id,
            customer=p.customer,
            segment=p.segment,
            blueprint_key=p.blueprint_key,
            blueprint_version=p.blueprint_version,
            state=p.state.value,
            kickoff_on=p.kickoff_on,
            committed_go_live_on=p.committed_go_live_on,
            projected_go_live_on=p.projected_go_live_on,
            finish_on=p.finish_on,
            bindings={
                role: PersonOut(name=who.name, email=who.email, time_zone=who.timezone)
                for role, who in p.bindings.items()
            },
        ),
    )


@router.post(
    "/launch/{source}",
    status_code=201,
    response_model=HookLaunched,
    summary="Launch a project from a CRM's signed delivery",
    description=(
        "The body is the CRM's JSON payload, read through the source's mapping (`onboarding hook add`). "
        "No API key: the signature is the authentication, `X-Onboarding-Timestamp` (unix seconds) and "
        "`X-Onboarding-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + '.' + body)>` for the generic "
        "scheme, `X-HubSpot-Request-Timestamp` and `X-HubSpot-Signature-v3` for HubSpot; at most 5 minutes old."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"description": "the payload, signed as sent"}}},
        }
    },
    responses={
        200: {"description": "the delivery (or its deal) launched this project before", "model": HookLaunched},
        400: {"description": "the body is not JSON (problem+json)"},
        401: {"description": "no signature, a wrong one, or a stale timestamp (problem+json)"},
        404: {"description": "no hook source of that name (problem+json)"},
        409: {"description": "the deal was launched with other inputs, or the delivery is in flight (problem+json)"},
        422: {"description": "the payload does not map, or the launch is refused (problem+json)"},
    },
)
async def launch(source: str, request: Request, application: App) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadUnreadable(
            "payload",
            (
                Problem(
                    "payload-too-large",
                    f"the body is {len(body):,} bytes; at most {MAX_BODY_BYTES:,} are read",
                    ("body",),
                    "send only the fields the mapping reads",
                ),
            ),
        )
    result = await run_in_threadpool(
        application.hooks.receive,
        source,
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        body=body,
        now=application.clock.now(),
    )
    return JSONResponse(_document(result).model_dump(mode="json"), status_code=201 if result.created else 200)
