"""Benchmark: render + build 10,000 customer status emails, against building minimal ones with ``email.mime``.

Generates varied status contexts (5 to 30 tasks each, split between done, next
and "what we need from you", some overdue; customer and person names with and
without accents; weekly and milestone-complete updates), then, in the same
process and run:

- render: ``MessageRenderer.render`` for each message: both templates, headers,
  quoted-printable bodies, the complete RFC 5322 bytes
- mime:   the same number of minimal two-part messages (From, To, Subject, Date,
  Message-ID, a one-line text and HTML part) built and serialised with the stdlib's
  ``email.mime`` classes, the baseline the goal is stated against

Each is timed several times; the best of each is reported. The last line is
``ratio=<rendered messages per second / 1500>`` (goal: >= 1).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.core.messages import (
    MessageKind,
    MilestoneView,
    OutgoingMessage,
    Person,
    StatusContext,
    TaskView,
    message_id,
)

GOAL_PER_SECOND = 1500
FIRST = ["Lee", "Dana", "José", "Zoë", "Priya", "Søren", "Amélie", "Kenji", "Fatima", "Grzegorz", "Olu", "Mateo"]
LAST = ["Park", "Ruiz", "Müller", "Nguyen", "O'Neil", "Łukasiewicz", "Smith", "Dubois", "Okafor", "García"]
CUSTOMERS = ["Acme Manufacturing", "Globex & Sons", "Initech", "Umbrella Logistics", "Café Señor Pérez", "Hooli"]
VERBS = ["Confirm", "Upload", "Review", "Approve", "Configure", "Map", "Import", "Sign off", "Test", "Verify"]
THINGS = ["bank details", "employee census", "pay codes", "deductions", "tax setup", "benefit plans",
          "the org chart", "year-to-date balances", "time-off policies", "GL mapping"]  # fmt: skip
MILESTONES = ["Kickoff", "Data migration", "Configuration", "Parallel runs", "Go-live"]


def person(rnd: random.Random, domain: str) -> Person:
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    return Person(name=f"{first} {last}", email=f"{first[0].lower()}{rnd.randrange(10_000)}@{domain}")


def task(rnd: random.Random, as_of: date, *, owner: str, done: bool, overdue: bool) -> TaskView:
    due = as_of + timedelta(days=rnd.randint(-15, -1) if done or overdue else rnd.randint(1, 30))
    view: TaskView = {
        "title": f"{rnd.choice(VERBS)} {rnd.choice(THINGS)}",
        "milestone": rnd.choice(MILESTONES[1:4]),
        "owner_name": owner,
        "due_on": due.isoformat(),
    }
    if done:
        view["done_on"] = (due + timedelta(days=rnd.randint(-2, 2))).isoformat()
    elif overdue:
        view["overdue"] = True
        view["days_overdue"] = (as_of - due).days * 5 // 7 or 1
    return view


def status_messages(count: int, *, seed: int = 11) -> list[OutgoingMessage]:
    rnd = random.Random(seed)
    vendor = Person(name="Dana Ruiz", email="dana@vendor.example")
    messages = []
    for number in range(count):
        as_of = date(2026, 1, 5) + timedelta(days=rnd.randrange(300))
        customer = rnd.choice(CUSTOMERS)
        recipients = tuple(person(rnd, "customer.example") for _ in range(rnd.randint(1, 3)))
        tasks = rnd.randint(5, 30)
        done, next_up = rnd.randint(0, tasks // 3), rnd.randint(0, tasks // 3)
        milestones: list[MilestoneView] = [
            {
                "title": title,
                "state": "done" if index < 2 else "in_progress" if index == 2 else "upcoming",
                "start_on": (as_of + timedelta(days=14 * (index - 2))).isoformat(),
                "due_on": (as_of + timedelta(days=14 * (index - 1))).isoformat(),
            }
            for index, title in enumerate(MILESTONES)
        ]
        projected = as_of + timedelta(days=rnd.randint(20, 90))
        on_track = rnd.random() < 0.7
        context: StatusContext = {
            "project": {"id": f"prj-{number:05d}", "customer": customer, "blueprint_title": "Payroll implementation"},
            "recipient_name": recipients[0].name,
            "as_of": as_of.isoformat(),
            "reason": "weekly" if rnd.random() < 0.8 else "milestone_complete",
            "completed_milestone": "Configuration",
            "milestones": milestones,
            "done_recently": [task(rnd, as_of, owner=vendor.name, done=True, overdue=False) for _ in range(done)],
            "next_up": [task(rnd, as_of, owner=vendor.name, done=False, overdue=False) for _ in range(next_up)],
            "needs_from_you": [
                task(rnd, as_of, owner=rnd.choice(recipients).name, done=False, overdue=rnd.random() < 0.3)
                for _ in range(tasks - done - next_up)
            ],
            "go_live": {
                "projected_on": projected.isoformat(),
                "committed_on": (projected if on_track else projected - timedelta(days=14)).isoformat(),
                "on_track": on_track,
            },
            "vendor_contact": {"name": vendor.name, "email": vendor.email},
        }
        messages.append(
            OutgoingMessage(
                idempotency_key=f"status:prj-{number:05d}:weekly:{as_of.isoformat()}",
                kind=MessageKind.status,
                to=recipients,
                subject=f"{customer} onboarding: status as of {as_of.isoformat()}",
                context=context,
                customer_facing=True,
                project_id=f"prj-{number:05d}",
                reply_to=vendor.email,
            )
        )
    return messages


def time_render(renderer: MessageRenderer, messages: list[OutgoingMessage], now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    for message in messages:
        size += len(renderer.render(message, now=now))
    return time.perf_counter() - started, size


def time_mime(count: int, now: datetime) -> float:
    started = time.perf_counter()
    for number in range(count):
        outer = MIMEMultipart("alternative")
        outer["From"] = formataddr(("Dana Ruiz", "dana@vendor.example"))
        outer["To"] = formataddr(("Lee Park", "lee@customer.example"))
        outer["Subject"] = f"Status {number}"
        outer["Date"] = format_datetime(now)
        outer["Message-ID"] = message_id(f"baseline:{number}", domain="vendor.example")
        outer.attach(MIMEText("Your onboarding is on track.", "plain", "utf-8"))
        outer.attach(MIMEText("<p>Your onboarding is on track.</p>", "html", "utf-8"))
        outer.as_bytes()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    messages = status_messages(args.messages)
    tasks = [len(m.context["done_recently"]) + len(m.context["next_up"]) + len(m.context["needs_from_you"])
             for m in messages]  # fmt: skip
    now = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
    started = time.perf_counter()
    renderer = MessageRenderer(
        sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
        domain="vendor.example",
        unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
        unsubscribe_secret=b"email-bench-key",
        product_name="Vendor Onboarding",
    )
    print(f"renderer built (templates compiled) in {time.perf_counter() - started:.3f} s")
    print(
        f"messages: {len(messages):,} status emails,"
        f" {min(tasks)}-{max(tasks)} tasks each (mean {statistics.mean(tasks):.1f})"
    )
    render_times, mime_times = [], []
    size = 0
    for _ in range(args.repeat):
        elapsed, size = time_render(renderer, messages, now)
        render_times.append(elapsed)
        mime_times.append(time_mime(len(messages), now))
    best_render, best_mime = min(render_times), min(mime_times)
    rendered_per_second = len(messages) / best_render
    print(
        f"render+build: best {best_render:.3f} s, median {statistics.median(render_times):.3f} s,"
        f" {rendered_per_second:,.0f} messages/s, {best_render / len(messages) * 1e3:.3f} ms each,"
        f" mean size {size / len(messages) / 1024:.1f} KiB"
    )
    print(
        f"email.mime minimal: best {best_mime:.3f} s, median {statistics.median(mime_times):.3f} s,"
        f" {len(messages) / best_mime:,.0f} messages/s, {best_mime / len(messages) * 1e3:.3f} ms each"
    )
    print(f"ratio={rendered_per_second / GOAL_PER_SECOND:.2f}")


if __name__ == "__main__":
    main()
