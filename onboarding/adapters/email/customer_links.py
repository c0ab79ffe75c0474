"""The signed customer links a customer email carries: its recipient's status page, task actions and feeds.

``CustomerLinkSigner`` signs links with the engine's secret and each project's link
key (made on first use: ``CustomerLinkKeys``), under the public URL; ``for_recipient``
gives one email's ``RecipientLinks``, which the templates call (``mail.links``) to
write **View your onboarding**, **Done**, **Stuck**, **Snooze** and the calendar
feeds. The key of a project is read once per email (a rotation is honoured by the
next email rendered), or once for a batch of emails read together (``prepare``: by
the next batch), the token once per project in an email.

Not here: what the links lead to and who may use them (the service and the pages),
the token rule (``core/customer_links``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from onboarding.core.customer_links import (
    LinkKey,
    action_path,
    customer_link_token,
    person_calendar_path,
    project_calendar_path,
    status_path,
)
from onboarding.services.ports import CustomerLinkKeys


class CustomerLinkSigner:
    def __init__(self, *, secret: bytes, public_url: str, keys: CustomerLinkKeys, now: Callable[[], datetime]) -> None:
        if not secret:
            raise ValueError("customer links need a secret key")
        self._secret = secret
        self._base = public_url.rstrip("/")
        self._keys = keys
        self._now = now
        self._prepared: dict[str, LinkKey] = {}  # keys read together for a batch of emails

    def for_recipient(self, email: str) -> RecipientLinks:
        return RecipientLinks(self, email)

    def prepare(self, project_ids: Iterable[str]) -> None:
        """Read these projects' keys at once, for the next emails' links (until the next ``prepare``)."""
        wanted = set(project_ids)
        self._prepared = self._keys.ensure_link_keys(wanted, now=self._now()) if wanted else {}

    def token(self, project_id: str, email: str) -> str:
        key = self._prepared.get(project_id) or self._keys.ensure_link_key(project_id, now=self._now())
        return customer_link_token(self._secret, key, project_id=project_id, email=email)

    def url(self, path: str) -> str:
        return self._base + path


class TaskLinks(NamedTuple):
    """One task's action pages for one recipient (``links.actions(project_id, key).done`` in templates)."""

    done: str
    stuck: str
    snooze: str


class RecipientLinks:
    """One email's links, for its one recipient (the engine addresses each customer email to one person)."""

    def __init__(self, signer: CustomerLinkSigner, email: str) -> None:
        self._signer = signer
        self._email = email
        self._tokens: dict[str, str] = {}
        self._tasks: dict[tuple[str, str], TaskLinks] = {}

    def _token(self, project_id: str) -> str:
        if project_id not in self._tokens:
            self._tokens[project_id] = self._signer.token(project_id, self._email)
        return self._tokens[project_id]

    def view(self, project_id: str) -> str:
        """The status page: **View your onboarding**."""
        return self._signer.url(status_path(self._token(project_id)))

    def actions(self, project_id: str, task_key: str) -> TaskLinks:
        """The confirmation pages of ``done``, ``stuck`` and ``snooze`` on one task, made once an email (its text
        and its HTML both list them)."""
        links = self._tasks.get((project_id, task_key))
        if links is None:
            token = self._token(project_id)
            links = TaskLinks(*(self._signer.url(action_path(token, task_key, a)) for a in TaskLinks._fields))
            self._tasks[(project_id, task_key)] = links
        return links

    def project_calendar(self, project_id: str) -> str:
        return self._signer.url(project_calendar_path(self._token(project_id)))

    def my_calendar(self, project_id: str) -> str:
        return self._signer.url(person_calendar_path(self._token(project_id)))
