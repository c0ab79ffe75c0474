"""An automated task's emails and webhook body: one email a bound role, its side, its filled templates, its key."""

from __future__ import annotations

from typing import Any

from onboarding.core.automated import automated_emails, blueprint_task, webhook_payload
from onboarding.core.blueprint import EmailAction, WebhookAction
from onboarding.core.checks import check_blueprint
from onboarding.core.messages import MessageKind, Person
from onboarding.core.projects import ProjectRecord
from tests.conftest import blueprint_data
from tests.core.test_project_changes import project as a_project

SENDER = Person("Onboarding", "onboarding@vendor.example")
CSM = Person("Casey", "casey@vendor.example")
ADMIN = Person("Ada", "ada@acme.example")


def automated(action: dict[str, Any]) -> dict[str, Any]:
    return {"key": "prenote", "title": "Send the prenote", "owner": "engineer", "kind": "automated", "action": action}


def project(bindings: dict[str, Person]) -> ProjectRecord:
    return a_project(id="acme-1a2b3c", external_id="CRM-9", bindings=bindings)


def test_an_email_action_writes_to_each_of_its_roles_bound_on_its_side_with_its_templates_filled() -> None:
    bp = check_blueprint(
        blueprint_data(
            [
                {"key": "setup", "title": "Set up", "owner": "csm", "duration_business_days": 1},
                automated(
                    {
                        "type": "email",
                        "to": ["admin", "engineer", "csm"],
                        "subject": "{task} for {customer}",
                        "body": "Hello {recipient_name}, {task} is done for {customer} ({project_id}).",
                    }
                ),
            ]
        )
    )
    task = blueprint_task(bp, "prenote")
    assert isinstance(task.action, EmailAction)
    assert automated_emails(project({"admin": ADMIN}), bp, blueprint_task(bp, "setup"), sender=SENDER) == []
    # the engineer is not bound: nobody to write to for that role
    emails = automated_emails(project({"admin": ADMIN, "csm": CSM}), bp, task, sender=SENDER)
    assert [(m.to, m.customer_facing) for m in emails] == [((ADMIN,), True), ((CSM,), False)]
    first = emails[0]
    assert first.kind is MessageKind.automated
    assert first.idempotency_key == "automated:acme-1a2b3c:prenote:admin"
    assert first.subject == "Send the prenote for Acme"
    assert first.context["body"] == "Hello Ada, Send the prenote is done for Acme (acme-1a2b3c)."
    assert first.context["project"]["external_id"] == "CRM-9"
    assert first.reply_to == "Casey <casey@vendor.example>"  # the csm answers for the project
    assert first.project_id == "acme-1a2b3c"
    # nobody bound to the contact role: the engine's sender answers
    alone = automated_emails(project({"admin": ADMIN}), bp, task, sender=SENDER)
    assert [m.reply_to for m in alone] == ["Onboarding <onboarding@vendor.example>"]


def test_a_webhook_body_is_its_payload_with_the_event_and_what_names_the_project_and_task() -> None:
    bp = check_blueprint(
        blueprint_data(
            [
                automated(
                    {
                        "type": "webhook",
                        "url": "https://hooks.example/ready",
                        "payload": {"system": "payroll", "event": "mine", "task": "theirs"},
                    }
                )
            ]
        )
    )
    action = blueprint_task(bp, "prenote").action
    assert isinstance(action, WebhookAction)
    assert automated_emails(project({"admin": ADMIN}), bp, blueprint_task(bp, "prenote"), sender=SENDER) == []
    assert webhook_payload(project({}), "prenote", action) == {
        "system": "payroll",
        "event": "task_ready",  # what the engine names wins over the payload's own
        "project_id": "acme-1a2b3c",
        "external_id": "CRM-9",
        "customer": "Acme",
        "task": "prenote",
    }
