"""What an automated task does when it is ready: the emails its action sends, or the body its webhook POSTs.

An automated task's email goes to each role its action names that is bound on the project, one message a
role, its subject and body the action's templates filled with the customer, the task's title, the
recipient's name and the project's id; it is customer-facing when the role is on the customer's side, and
answers go to the project's contact. A webhook's body is the action's own payload with the event
(``task_ready``) and what names the project and the task.

Not here: when a task is ready and its action runs (``services/sweep``), delivery (``services/dispatch``).
"""

from __future__ import annotations

from typing import Any

from onboarding.core.addresses import reply_to_text
from onboarding.core.blueprint import Blueprint, EmailAction, Side, Task, WebhookAction
from onboarding.core.messages import AutomatedContext, MessageKind, OutgoingMessage, Person
from onboarding.core.projects import ProjectRecord, project_contact, project_view

TASK_READY = "task_ready"  # the event a webhook action's body names


def blueprint_task(blueprint: Blueprint, task_key: str) -> Task:
    """The blueprint's task ``task_key``."""
    return next(t for m in blueprint.milestones for t in m.tasks if t.key == task_key)


def automated_emails(
    project: ProjectRecord, blueprint: Blueprint, task: Task, *, sender: Person
) -> list[OutgoingMessage]:
    """The emails the project's ``task`` sends when it is ready (none unless its action is an email): one to each of
    its action's roles bound on the project, keyed by project, task and role so that running it again sends none
    twice."""
    action = task.action
    if not isinstance(action, EmailAction):
        return []
    contact = project_contact(blueprint, project.bindings, fallback=sender)
    messages: list[OutgoingMessage] = []
    for role in action.to:
        person = project.bindings.get(role)
        if person is None:
            continue
        fill = {
            "customer": project.customer,
            "task": task.title,
            "recipient_name": person.name,
            "project_id": project.id,
        }
        context: AutomatedContext = {
            "project": project_view(project),
            "recipient_name": person.name,
            "subject": action.subject.format_map(fill),
            "body": action.body.format_map(fill),
        }
        messages.append(
            OutgoingMessage(
                idempotency_key=f"automated:{project.id}:{task.key}:{role}",
                kind=MessageKind.automated,
                to=(person,),
                subject=context["subject"],
                context=dict(context),
                customer_facing=blueprint.roles[role].side is Side.customer,
                project_id=project.id,
                reply_to=reply_to_text([(contact.name, contact.email)]),
            )
        )
    return messages


def webhook_payload(project: ProjectRecord, task_key: str, action: WebhookAction) -> dict[str, Any]:
    """The body a webhook action POSTs: its own payload, with the event and what names the project and the task."""
    return {
        **action.payload,
        "event": TASK_READY,
        "project_id": project.id,
        "external_id": project.external_id,
        "customer": project.customer,
        "task": task_key,
    }
