"""Unsubscribing: what an unsubscribe link's token asks for, checked, and the opt-out recorded once.

Every customer email carries a link (and a List-Unsubscribe header) with a signed
token naming the recipient and the project. ``UnsubscribeService.check`` reads a
token and says whom and which project it names and whether the opt-out is already
recorded, changing nothing (a confirmation page shows it: mail scanners open every
link); ``UnsubscribeService.confirm`` records it as an ``unsubscribed`` event of the
project (idempotent: a second confirmation says it was already recorded). A token
this engine did not sign, or one altered or cut short, is refused
(``invalid-unsubscribe-token``), as is a valid one that names no single project
(``unsubscribe-every-project``): opt-outs are kept per project.

Not here: signing and reading tokens (``adapters/email/unsubscribe``, behind the
``UnsubscribeTokens`` port), the event itself and the suppression of later emails
(``ProjectService.unsubscribe``, ``dispatch``), the pages and the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from onboarding.errors import Problem, UnsubscribeRefused
from onboarding.services.projects import UNSUBSCRIBED, ProjectService


class TokenNames(Protocol):
    """What a valid token names: an address, and a project (``None``: every project of that address)."""

    @property
    def email(self) -> str: ...

    @property
    def project_id(self) -> str | None: ...


class UnsubscribeTokens(Protocol):
    """Reads the tokens of unsubscribe links: whom one names, or ``None`` when this engine did not sign it."""

    def read(self, token: str) -> TokenNames | None: ...


@dataclass(frozen=True, slots=True)
class Unsubscription:
    """An opt-out a token asks for: who, from which project (and whose), and whether it is recorded."""

    email: str
    project_id: str
    customer: str
    recorded: bool  # the opt-out is in the project's history (before this call, for ``check``)
    recorded_now: bool = False  # ``confirm`` recorded it (False: it was already)


class UnsubscribeService:
    def __init__(self, *, tokens: UnsubscribeTokens, projects: ProjectService) -> None:
        self._tokens = tokens
        self._projects = projects

    def check(self, token: str) -> Unsubscription:
        """What ``token`` asks for and whether it is already recorded; changes nothing.

        Raises ``UnsubscribeRefused`` for a token that is not valid here or names no single project, and
        ``ProjectNotFound`` for a project this database does not hold.
        """
        email, project_id = self._names(token)
        project = self._projects.get(project_id)
        already = any(
            e.kind == UNSUBSCRIBED and e.data.get("email") == email for e in self._projects.events(project.id)
        )
        return Unsubscription(email=email, project_id=project.id, customer=project.customer, recorded=already)

    def confirm(self, token: str) -> Unsubscription:
        """Record the opt-out ``token`` asks for (once: a second confirmation changes nothing and says so)."""
        email, project_id = self._names(token)
        project = self._projects.get(project_id)
        recorded_now = self._projects.unsubscribe(project.id, email=email)
        return Unsubscription(
            email=email, project_id=project.id, customer=project.customer, recorded=True, recorded_now=recorded_now
        )

    def _names(self, token: str) -> tuple[str, str]:
        names = self._tokens.read(token)
        if names is None:
            raise UnsubscribeRefused(
                "unsubscribe",
                (
                    Problem(
                        "invalid-unsubscribe-token",
                        "this unsubscribe link was not made by this engine, or was altered or cut short",
                        ("token",),
                        "use the whole link from the email; if it is whole, the engine's secret key has changed "
                        "since the email was sent (ONBOARDING_SECRET_KEY or the data folder's secret_key)",
                    ),
                ),
            )
        if names.project_id is None:
            raise UnsubscribeRefused(
                "unsubscribe",
                (
                    Problem(
                        "unsubscribe-every-project",
                        f"the link is valid and asks to stop every project's emails to {names.email}",
                        ("token",),
                        "opt-outs are recorded per project: ask which projects, and unsubscribe from those",
                    ),
                ),
            )
        return names.email.strip().lower(), names.project_id
