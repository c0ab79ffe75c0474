"""Realistic outgoing messages, one or more per template, with fixed contexts (golden emails use them)."""

from __future__ import annotations

from onboarding.core.messages import (
    AutomatedContext,
    CauseView,
    ContactView,
    KickoffContext,
    ManagerReportContext,
    MessageKind,
    MilestoneView,
    NudgeDigestContext,
    OutgoingMessage,
    Person,
    ProjectView,
    StatusContext,
    TeamSignInContext,
    WindowJumpContext,
)

DANA = Person(name="Dana Ruiz", email="dana@vendor.example", timezone="America/Los_Angeles")
LEE = Person(name="Lee Park", email="lee@acme.example", timezone="America/Chicago")
JOSE = Person(name="José Müller", email="jose@acme.example", timezone="Europe/Berlin")
SAM = Person(name="Sam O'Neil", email="sam@vendor.example")
PAT_CONTACT = ContactView(name="Pat Lee", email="pat@vendor.example", role="Customer success manager")
VENDOR_CONTACT = ContactView(name=DANA.name, email=DANA.email, role="Customer success manager")

ACME = ProjectView(
    id="prj-0001", customer="Acme Manufacturing", blueprint_title="Payroll implementation", external_id="CRM-123"
)
GLOBEX = ProjectView(id="prj-0002", customer="Globex & Sons", blueprint_title="HR platform", external_id=None)

MILESTONES: list[MilestoneView] = [
    {"title": "Kickoff", "state": "done", "start_on": "2026-01-05", "due_on": "2026-01-06", "done_on": "2026-01-06"},
    {"title": "Data migration", "state": "in_progress", "start_on": "2026-01-07", "due_on": "2026-02-13"},
    {"title": "Parallel runs", "state": "upcoming", "start_on": "2026-02-16", "due_on": "2026-03-13"},
    {"title": "Go-live", "state": "upcoming", "start_on": "2026-03-16", "due_on": "2026-04-01"},
]


def kickoff_message() -> OutgoingMessage:
    context: KickoffContext = {
        "project": ACME,
        "recipient_name": LEE.name,
        "role_title": "Customer payroll admin",
        "kickoff_on": "2026-01-05",
        "milestones": MILESTONES,
        "your_tasks": [
            {
                "title": "Send the employee census",
                "milestone": "Data migration",
                "owner_name": LEE.name,
                "due_on": "2026-01-16",
                "start_on": "2026-01-07",
            },
            {
                "title": "Confirm bank details",
                "milestone": "Data migration",
                "owner_name": LEE.name,
                "due_on": "2026-01-23",
                "description": "Send a voided cheque or bank letter for each account payroll is paid from.",
            },
        ],
        "go_live": {"projected_on": "2026-04-01", "committed_on": "2026-04-01", "on_track": True},
        "vendor_contact": VENDOR_CONTACT,
    }
    return OutgoingMessage(
        idempotency_key="kickoff:prj-0001:customer_payroll_admin",
        kind=MessageKind.kickoff,
        to=(LEE,),
        subject="Welcome: Acme Manufacturing payroll implementation starts Mon 5 Jan",
        context=context,
        customer_facing=True,
        project_id=ACME["id"],
        reply_to=f"{DANA.name} <{DANA.email}>",
    )


def status_message() -> OutgoingMessage:
    context: StatusContext = {
        "project": ACME,
        "recipient_name": JOSE.name,
        "as_of": "2026-02-02",
        "reason": "weekly",
        "completed_milestone": None,
        "milestones": MILESTONES,
        "done_recently": [
            {
                "title": "Import employees",
                "milestone": "Data migration",
                "owner_name": DANA.name,
                "due_on": "2026-01-28",
                "done_on": "2026-01-29",
            },
            {
                "title": "Map pay codes",
                "milestone": "Data migration",
                "owner_name": SAM.name,
                "due_on": "2026-01-30",
                "done_on": "2026-01-30",
            },
        ],
        "next_up": [
            {
                "title": "Configure deductions",
                "milestone": "Data migration",
                "owner_name": SAM.name,
                "due_on": "2026-02-06",
            },
            {
                "title": "Load year-to-date balances",
                "milestone": "Data migration",
                "owner_name": DANA.name,
                "due_on": "2026-02-11",
            },
        ],
        "needs_from_you": [
            {
                "title": "Confirm bank details",
                "milestone": "Data migration",
                "owner_name": JOSE.name,
                "due_on": "2026-01-23",
                "overdue": True,
                "days_overdue": 6,
                "description": "Send a voided cheque or bank letter for each account payroll is paid from.",
            },
            {
                "title": "Approve the <script>alert(1)</script> & Sons import",
                "milestone": "Data migration",
                "owner_name": JOSE.name,
                "due_on": "2026-02-09",
                "overdue": False,
            },
        ],
        "go_live": {
            "projected_on": "2026-04-15",
            "committed_on": "2026-04-01",
            "on_track": False,
            "reason": "Waiting on bank details moved the first parallel run by one pay cycle.",
        },
        "vendor_contact": VENDOR_CONTACT,
    }
    return OutgoingMessage(
        idempotency_key="status:prj-0001:weekly:2026-02-02:jose@acme.example",
        kind=MessageKind.status,
        to=(JOSE, LEE),
        cc=(DANA,),
        subject="Acme Manufacturing onboarding: weekly status, Mon 2 Feb 2026",
        context=context,
        customer_facing=True,
        project_id=ACME["id"],
        reply_to=f"{DANA.name} <{DANA.email}>",
    )


def nudge_digest_message() -> OutgoingMessage:
    context: NudgeDigestContext = {
        "recipient_name": DANA.name,
        "as_of": "2026-02-02",
        "items": [
            {
                "project": ACME,
                "task_title": "Confirm bank details",
                "milestone": "Data migration",
                "due_on": "2026-01-23",
                "days_overdue": 6,
                "level": 2,
                "owner_name": LEE.name,
                "escalated": True,
                "description": "Send a voided cheque or bank letter for each account payroll is paid from.",
                "contact": PAT_CONTACT,
            },
            {
                "project": GLOBEX,
                "task_title": "Review benefit plans",
                "milestone": "Configuration",
                "due_on": "2026-01-29",
                "days_overdue": 2,
                "level": 1,
                "owner_name": DANA.name,
                "escalated": False,
                "contact": {"name": SAM.name, "email": SAM.email, "role": "Engagement manager"},
            },
            {
                "project": GLOBEX,
                "task_title": "Sign off the org chart",
                "milestone": "Configuration",
                "due_on": "2026-01-30",
                "days_overdue": 1,
                "level": 1,
                "owner_name": DANA.name,
                "escalated": False,
                "contact": {"name": SAM.name, "email": SAM.email, "role": "Engagement manager"},
            },
        ],
        "vendor_contact": PAT_CONTACT,
        "contacts": [PAT_CONTACT, {"name": SAM.name, "email": SAM.email, "role": "Engagement manager"}],
    }
    return OutgoingMessage(
        idempotency_key="digest:dana@vendor.example:2026-02-02",
        kind=MessageKind.nudge_digest,
        to=(DANA,),
        subject="3 overdue onboarding tasks",
        context=context,
        customer_facing=False,
        reply_to=f'Pat Lee <pat@vendor.example>, "{SAM.name}" <{SAM.email}>',
    )


def window_jump_message() -> OutgoingMessage:
    cause: CauseView = {
        "title": "Confirm bank details",
        "milestone": "Data migration",
        "owner_name": LEE.name,
        "expected_on": "2026-01-23",
        "done_on": None,
        "projected_on": "2026-02-10",
        "slip_days": 10,
    }
    context: WindowJumpContext = {
        "project": ACME,
        "recipient_name": DANA.name,
        "as_of": "2026-02-02",
        "committed_on": "2026-04-01",
        "projected_on": "2026-04-15",
        "causes": [cause],
        "cause": "Confirm bank details (Lee Park) is 10 days late against the date it was expected by.",
        "explanation": "Go-live must fall on a pay date with two parallel runs before it; "
        "the bank details now complete on Tue 10 Feb, so the first pay date that allows both runs is Wed 15 Apr.",
        "rejected": [
            {"date": "2026-04-01", "reason": "only one parallel run fits before this pay date"},
            {"date": "2026-04-08", "reason": "not a pay date of the biweekly schedule"},
        ],
    }
    return OutgoingMessage(
        idempotency_key="window-jump:prj-0001:2026-04-15",
        kind=MessageKind.window_jump,
        to=(DANA, SAM),
        subject="Acme Manufacturing: go-live moved to Wed 15 Apr 2026 (committed Wed 1 Apr)",
        context=context,
        customer_facing=False,
        project_id=ACME["id"],
    )


def automated_message() -> OutgoingMessage:
    context: AutomatedContext = {
        "project": GLOBEX,
        "recipient_name": JOSE.name,
        "subject": "Your sandbox is ready",
        "body": "Hi José,\n\nYour sandbox for Globex & Sons is ready at https://sandbox.example/globex?a=1&b=2.\n"
        "Sign in with your work email.\n\nThe implementation team",
    }
    return OutgoingMessage(
        idempotency_key="automated:prj-0002:sandbox_ready",
        kind=MessageKind.automated,
        to=(JOSE,),
        subject="Your sandbox is ready",
        context=context,
        customer_facing=True,
        project_id=GLOBEX["id"],
        reply_to="Dana Ruiz <dana@vendor.example>",
    )


def manager_report_message() -> OutgoingMessage:
    """The weekly report without its attachment (``tests/adapters/email/test_report_email.py`` attaches one)."""
    context: ManagerReportContext = {
        "recipient_name": SAM.name,
        "as_of": "2026-02-02",
        "period": "2026-W06",
        "headline": [
            {"label": "Reached first value", "value": "10 of 18", "note": "7 in flight"},
            {"label": "Median time to first value", "value": "47 days", "note": ""},
            {"label": "On-time launches", "value": "78%", "note": "7 of 9 go-lives inside the committed window"},
        ],
        "at_risk": [
            {
                "customer": "Globex & Sons",
                "external_id": None,
                "blueprint": "hr-platform",
                "owner": DANA.name,
                "committed_on": "2026-03-03",
                "projected_on": "2026-03-17",
                "reasons": ["go-live projected 14 days past the committed window", "2 overdue customer tasks"],
            }
        ],
        "at_risk_total": 3,
    }
    return OutgoingMessage(
        idempotency_key="report:2026-W06:sam@vendor.example",
        kind=MessageKind.manager_report,
        to=(SAM,),
        subject="Onboarding report 2026-W06: median time to first value 47 days, 3 at risk",
        context=context,
        customer_facing=False,
    )


def team_sign_in_message() -> OutgoingMessage:
    context: TeamSignInContext = {
        "recipient_name": DANA.name,
        "link": "https://onboarding.vendor.example/team/sign-in/Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg",
        "expires_minutes": 15,
    }
    return OutgoingMessage(
        idempotency_key="team-sign-in:" + "d" * 64,
        kind=MessageKind.team_sign_in,
        to=(DANA,),
        subject="Your sign-in link",
        context=context,
        customer_facing=False,
        key_email=DANA.email,
    )


ALL = {
    MessageKind.kickoff: kickoff_message,
    MessageKind.status: status_message,
    MessageKind.nudge_digest: nudge_digest_message,
    MessageKind.window_jump: window_jump_message,
    MessageKind.automated: automated_message,
    MessageKind.manager_report: manager_report_message,
    MessageKind.team_sign_in: team_sign_in_message,
}
