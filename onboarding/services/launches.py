"""Launches that are safe to retry: by external id (``ProjectService.launch``) and by idempotency key.

``LaunchService.launch`` launches once per caller and key: the first request claims
the key, launches, and records the project it answered; a retry with the same request
gets that answer again (``replayed``), one with another request is refused
(``LaunchConflict``, ``idempotency-key-reused``, each differing field named), and one
that arrives while the first is still being served waits for its answer. A launch
that fails gives the key up, so that the corrected request may use it. Every answer
carries the plan as launched: its go-live, the reason for it and the dates refused.

Not here: the launch itself (``services/projects``), HTTP (``web/api/projects``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from onboarding.core.idempotency import fingerprint, request_differences
from onboarding.core.planning import Plan
from onboarding.core.projects import ProjectRecord
from onboarding.errors import ChangeConflict, LaunchConflict, PlanInputInvalid, Problem
from onboarding.services.ports import Clock, IdempotencyStore, IdempotentRequest
from onboarding.services.projects import LaunchRequest, ProjectService

MAX_KEY_LENGTH = 200
# A key claimed this long ago by a request that never answered belongs to a server that died: taken over.
_STALE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class LaunchResult:
    project: ProjectRecord
    plan: Plan  # as launched: its go-live, why, and the dates refused
    created: bool  # False: an external id (or key) launched before answered
    replayed: bool = False  # the answer of an earlier request with the same idempotency key


def canonical_request(request: LaunchRequest) -> dict[str, object]:
    """A launch request as the JSON-ready values its fingerprint is taken of."""
    return {
        "blueprint": request.blueprint,
        "customer": request.customer,
        "kickoff_on": request.kickoff_on.isoformat(),
        "pay_schedule": request.pay_schedule,
        "segment": request.segment,
        "external_id": request.external_id,
        "contract_signed_on": request.contract_signed_on.isoformat() if request.contract_signed_on else None,
        "customer_country": request.customer_country,
        "customer_subdivision": request.customer_subdivision,
        "customer_closed_days": sorted(str(d) for d in request.customer_closed_days),
        "customer_time_zone": request.customer_time_zone,
        "bindings": {
            role: {"name": p.name, "email": p.email, "time_zone": p.timezone}
            for role, p in sorted(request.bindings.items())
        },
    }


class LaunchService:
    def __init__(
        self,
        *,
        projects: ProjectService,
        keys: IdempotencyStore,
        clock: Clock,
        wait_seconds: float = 15.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._projects = projects
        self._keys = keys
        self._clock = clock
        self._wait_seconds = wait_seconds
        self._sleep = sleep

    def launch(
        self, request: LaunchRequest, *, actor: str, idempotency_key: str | None = None, published_only: bool = False
    ) -> LaunchResult:
        """Launch once: a retry with the same external id or the same key answers the first launch."""
        if idempotency_key is None:
            return self._launch(request, actor=actor, published_only=published_only)
        _check_key(idempotency_key)
        asked = canonical_request(request)
        asked_print = fingerprint(asked)
        polls = max(1, int(self._wait_seconds / 0.05))
        for _poll in range(polls):
            now = self._clock.now()
            held = self._keys.claim(
                actor, idempotency_key, fingerprint=asked_print, request=asked, now=now, stale_before=now - _STALE
            )
            if held is None:
                break  # ours: launch below
            if held.fingerprint != asked_print:
                raise _reused(idempotency_key, held, asked)
            if held.project_id is not None:
                project = self._projects.get(held.project_id)
                return LaunchResult(
                    project, self._projects.launch_plan(project), created=bool(held.created), replayed=True
                )
            self._sleep(0.05)  # the first request with this key is being served: wait for its answer
        else:
            raise ChangeConflict(
                "launch",
                (
                    Problem(
                        "idempotency-key-in-use",
                        f"a request with the idempotency key {idempotency_key!r} is still being served",
                        ("Idempotency-Key",),
                        "send the request again in a moment: it will get that request's answer",
                    ),
                ),
            )
        try:
            result = self._launch(request, actor=actor, published_only=published_only)
        except BaseException:
            self._keys.release(actor, idempotency_key)
            raise
        self._keys.complete(actor, idempotency_key, project_id=result.project.id, created=result.created)
        return result

    def _launch(self, request: LaunchRequest, *, actor: str, published_only: bool) -> LaunchResult:
        launched = self._projects.launch(
            request.blueprint,
            customer=request.customer,
            kickoff_on=request.kickoff_on,
            bindings=request.bindings,
            pay_schedule=request.pay_schedule,
            segment=request.segment,
            external_id=request.external_id,
            actor=actor,
            contract_signed_on=request.contract_signed_on,
            customer_country=request.customer_country,
            customer_subdivision=request.customer_subdivision,
            customer_closed_days=request.customer_closed_days,
            customer_time_zone=request.customer_time_zone,
            published_only=published_only,
        )
        plan = launched.plan or self._projects.launch_plan(launched.project)
        return LaunchResult(launched.project, plan, created=launched.created)


def _check_key(key: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise PlanInputInvalid(
            "launch",
            (
                Problem(
                    "invalid-idempotency-key",
                    f"the idempotency key {key[:40]!r} is empty, longer than {MAX_KEY_LENGTH} characters or "
                    "holds control characters",
                    ("Idempotency-Key",),
                    "send a unique value of printable characters (a UUID) per launch, the same one on each retry",
                ),
            ),
        )


def _reused(key: str, held: IdempotentRequest, asked: Mapping[str, object]) -> LaunchConflict:
    return LaunchConflict(
        "launch",
        (
            Problem(
                "idempotency-key-reused",
                f"the idempotency key {key!r} was sent before with another request",
                ("Idempotency-Key",),
                "a retry sends the same request with the same key; a new launch needs a new key",
                detail=tuple(request_differences(held.request, asked)),
            ),
        ),
    )
