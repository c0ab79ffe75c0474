"""The nudge policy on real calendars and time zones: who is nudged when, digests, caps, keys."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.blueprint import NudgePolicy, QuietHours
from onboarding.core.calendars import BusinessCalendar, CalendarKey, business_calendar
from onboarding.core.checks import check_blueprint
from onboarding.core.messages import MessageKind, Person
from onboarding.core.nudges import (
    DeferReason,
    NudgePlan,
    OverdueTask,
    Rung,
    SentDigest,
    decide_nudges,
    digest_key,
    escalation_ladder,
    in_quiet_hours,
    nudge_key,
    nudge_thresholds,
    sent_digests,
    time_zone,
)
from tests.conftest import blueprint_data
from tests.core.oracle import NaiveCalendar

D = date.fromisoformat
US = business_calendar(CalendarKey("US"), name="US office")
GB = business_calendar(CalendarKey("GB"), name="GB office")

LEE = Person("Lee Park", "lee@acme.example", "America/Chicago")
UMA = Person("Uma Tan", "uma@globex.example", "UTC")
DANA = Person("Dana Ruiz", "dana@vendor.example", "America/New_York")  # the CSM
MAX = Person("Max Olsen", "max@vendor.example", "America/New_York")  # the escalation contact's manager
POLICY = NudgePolicy()  # first after 1, repeat every 2, escalate after 2, cap 1, quiet 18:00-08:00, send at 09:00


def at(text: str) -> datetime:
    """An instant written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def vendor(person: Person) -> Rung:
    """A rung on the vendor side, on the US office calendar."""
    return Rung(person, US, customer_side=False)


def chicago(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/Chicago"))


def overdue(
    task_key: str = "upload_census",
    *,
    project_id: str = "p1",
    customer: str = "Acme Manufacturing",
    owner: Person = LEE,
    due_on: str = "2026-12-07",
    calendar: BusinessCalendar = US,
    **more: object,
) -> OverdueTask:
    fields: dict[str, object] = {
        "project_id": project_id,
        "customer": customer,
        "blueprint_title": "Payroll onboarding",
        "task_key": task_key,
        "task_title": task_key.replace("_", " ").capitalize(),
        "milestone_title": "Data migration",
        "owner_role": "customer_payroll_admin",
        "owner": owner,
        "customer_side": True,
        "owner_calendar": calendar,
        "due_on": D(due_on),
        "due_version": 1,
        **more,
    }
    return OverdueTask(**fields)  # type: ignore[arg-type]


def decide(tasks: list[OverdueTask], now: datetime, *, policy: NudgePolicy = POLICY, **more: object) -> NudgePlan:
    options: dict[str, object] = {"already_sent": {}, "vendor_contact": DANA, **more}
    return decide_nudges(tasks, policy=policy, now=now, **options)  # type: ignore[arg-type]


def reasons(plan: NudgePlan) -> list[tuple[str, str]]:
    return [(task.task_key, reason) for task, reason in plan.deferred]


# -- when a task is due a nudge (owner side) --------------------------------------------


def test_first_nudge_goes_to_the_owner_one_business_day_after_the_due_date() -> None:
    plan = decide([overdue(due_on="2026-12-07")], chicago("2026-12-08 10:00"))
    (nudge,) = plan.nudges
    assert (nudge.level, nudge.recipient, nudge.number) == (1, LEE, 1)
    assert nudge.key == "nudge:p1:upload_census:1:1"
    assert nudge.nudged_on == D("2026-12-08")
    (digest,) = plan.digests
    assert digest.idempotency_key == nudge.digest_key == "digest:lee@acme.example:2026-12-08"
    assert digest.kind is MessageKind.nudge_digest
    assert digest.to == (LEE,)
    item = digest.context["items"][0]
    assert item["days_overdue"] == 1
    assert item["escalated"] is False
    assert plan.deferred == ()


def test_not_due_before_first_after_business_days() -> None:
    policy = NudgePolicy(first_after_business_days=2)
    plan = decide([overdue(due_on="2026-12-07")], chicago("2026-12-08 10:00"), policy=policy)
    assert plan == NudgePlan(nudges=(), digests=(), deferred=())


def test_overdue_days_count_business_days_skipping_thanksgiving() -> None:
    policy = NudgePolicy(first_after_business_days=2)
    task = overdue(due_on="2026-11-25")  # Wednesday; Thursday 11-26 is Thanksgiving
    assert decide([task], chicago("2026-11-27 10:00"), policy=policy).nudges == ()  # only Friday counts: 1 day
    plan = decide([task], chicago("2026-11-30 10:00"), policy=policy)  # Friday and Monday: 2 days
    assert [n.task_key for n in plan.nudges] == ["upload_census"]
    assert plan.digests[0].context["items"][0]["days_overdue"] == 2


def test_a_task_not_yet_past_due_in_the_owners_zone_is_not_nudged() -> None:
    honolulu = Person("Kai", "kai@acme.example", "Pacific/Honolulu")
    plan = decide([overdue(owner=honolulu, due_on="2026-12-07")], at("2026-12-08 05:00"))  # Mon 19:00 in Honolulu
    assert plan == NudgePlan(nudges=(), digests=(), deferred=())


def test_repeat_nudges_wait_repeat_every_business_days() -> None:
    now = chicago("2026-12-08 10:00")  # Tuesday
    assert decide([overdue(due_on="2026-12-01", nudges_sent=1, last_nudged_on=D("2026-12-07"))], now).nudges == ()
    plan = decide([overdue(due_on="2026-12-01", nudges_sent=1, last_nudged_on=D("2026-12-04"))], now)
    assert [n.key for n in plan.nudges] == ["nudge:p1:upload_census:1:2"]
    # Friday to Monday is one business day, however many calendar days lie between.
    monday = chicago("2026-12-07 10:00")
    assert decide([overdue(due_on="2026-12-01", nudges_sent=1, last_nudged_on=D("2026-12-04"))], monday).nudges == ()


# -- the ladder ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nudges_sent", "level", "recipient"),
    [(0, 1, LEE), (1, 1, LEE), (2, 2, DANA), (3, 2, DANA), (4, 3, MAX), (9, 3, MAX)],
)
def test_escalates_after_two_nudges_up_the_chain_and_stays_on_the_last_rung(
    nudges_sent: int, level: int, recipient: Person
) -> None:
    task = overdue(due_on="2026-11-30", nudges_sent=nudges_sent, escalation_chain=(vendor(DANA), vendor(MAX)))
    (nudge,) = decide([task], chicago("2026-12-08 10:00")).nudges
    assert (nudge.level, nudge.recipient, nudge.number) == (level, recipient, nudges_sent + 1)


def test_without_an_escalation_chain_the_owner_keeps_getting_the_nudges() -> None:
    (nudge,) = decide([overdue(due_on="2026-11-30", nudges_sent=5)], chicago("2026-12-08 10:00")).nudges
    assert (nudge.level, nudge.recipient) == (1, LEE)


def test_an_escalated_nudge_names_the_owner_and_is_vendor_facing() -> None:
    task = overdue(due_on="2026-11-30", nudges_sent=2, escalation_chain=(vendor(DANA),))
    plan = decide([task], chicago("2026-12-08 10:00"))
    (digest,) = plan.digests
    assert digest.to == (DANA,)
    assert digest.idempotency_key == "digest:dana@vendor.example:2026-12-08"
    assert digest.customer_facing is False
    item = digest.context["items"][0]
    assert (item["level"], item["escalated"], item["owner_name"]) == (2, True, "Lee Park")


def test_an_escalation_contact_on_the_customer_side_gets_a_customer_facing_digest() -> None:
    boss = Person("Ann Boss", "ann@acme.example", "America/Chicago")
    task = overdue(due_on="2026-11-30", nudges_sent=2, escalation_chain=(Rung(boss, US, customer_side=True),))
    plan = decide([task], chicago("2026-12-08 10:00"))
    assert plan.digests[0].customer_facing is True


def test_a_customer_side_owner_gets_a_customer_facing_digest_and_a_vendor_owner_does_not() -> None:
    now = chicago("2026-12-08 10:00")
    assert decide([overdue()], now).digests[0].customer_facing is True
    assert decide([overdue(owner=DANA, customer_side=False)], now).digests[0].customer_facing is False


# -- the recipient's calendar and clock ------------------------------------------------------


@pytest.mark.parametrize("day", ["2026-11-26", "2026-11-28", "2026-11-29"])  # Thanksgiving, Saturday, Sunday
def test_no_nudge_on_the_recipients_holiday_or_weekend(day: str) -> None:
    plan = decide([overdue(due_on="2026-11-23")], chicago(f"{day} 10:00"))
    assert plan.nudges == () and plan.digests == ()
    assert reasons(plan) == [("upload_census", "weekend/holiday")]


def test_an_escalation_contact_is_held_back_on_their_own_holiday() -> None:
    # Monday 2026-12-28 is a US business day and Boxing Day (observed) in the UK.
    london = Person("Liz Grant", "liz@vendor.example", "Europe/London")
    tasks = [
        overdue("owner_level", due_on="2026-12-21"),
        overdue("escalated", due_on="2026-12-21", nudges_sent=2, escalation_chain=(Rung(london, GB, False),)),
    ]
    plan = decide(tasks, at("2026-12-28 16:00"))
    assert [(n.task_key, n.recipient.email) for n in plan.nudges] == [("owner_level", LEE.email)]
    assert reasons(plan) == [("escalated", "weekend/holiday")]


def test_someone_escalated_to_in_two_projects_is_held_by_each_projects_calendar_for_its_own_nudges() -> None:
    # Liz escalates for a US-calendar project and a GB-calendar one; Monday 2026-12-28 is a GB holiday only.
    london = Person("Liz Grant", "liz@vendor.example", "Europe/London")
    tasks = [
        overdue("us_task", project_id="p1", due_on="2026-12-21", nudges_sent=2, escalation_chain=(vendor(london),)),
        overdue(
            "gb_task", project_id="p2", due_on="2026-12-21", nudges_sent=2, escalation_chain=(Rung(london, GB, False),)
        ),
    ]
    plan = decide(tasks, at("2026-12-28 16:00"))
    assert [(n.task_key, n.recipient) for n in plan.nudges] == [("us_task", london)]
    assert reasons(plan) == [("gb_task", "weekend/holiday")]
    (digest,) = plan.digests
    assert digest.project_id == "p1"


def test_the_escalation_contacts_overdue_days_count_on_their_calendar() -> None:
    london = Person("Liz Grant", "liz@vendor.example", "Europe/London")
    task = overdue(due_on="2026-12-24", nudges_sent=2, escalation_chain=(Rung(london, GB, False),))
    plan = decide([task], at("2026-12-29 15:00"))
    # US: Thu 24 due, Fri 25 Christmas, Mon 28, Tue 29 -> 2; GB: 25 Christmas, 28 Boxing Day (observed) -> 1.
    assert plan.digests[0].context["items"][0]["days_overdue"] == 1


@pytest.mark.parametrize(
    ("now", "lee", "uma"),
    [
        ("2026-12-08 23:30", "sent", "quiet hours"),  # 17:30 in Chicago, 23:30 in UTC
        ("2026-12-08 14:30", "before send time", "sent"),  # 08:30 in Chicago, 14:30 in UTC
        ("2026-12-08 12:00", "quiet hours", "sent"),  # 06:00 in Chicago, 12:00 in UTC
        ("2026-12-08 08:30", "quiet hours", "before send time"),  # 02:30 in Chicago, 08:30 in UTC
        ("2026-12-09 07:00", "quiet hours", "quiet hours"),  # 01:00 in Chicago, 07:00 in UTC
    ],
)
def test_quiet_hours_and_send_time_are_in_each_recipients_zone(now: str, lee: str, uma: str) -> None:
    tasks = [overdue("lees_task", owner=LEE), overdue("umas_task", owner=UMA)]
    plan = decide(tasks, at(now))
    outcome = {n.task_key: "sent" for n in plan.nudges} | dict(reasons(plan))
    assert outcome == {"lees_task": lee, "umas_task": uma}


def test_quiet_hours_within_one_day() -> None:
    policy = NudgePolicy(quiet_hours=QuietHours(start="12:00", end="13:00"), send_at="08:00")
    plan = decide([overdue()], chicago("2026-12-08 12:30"), policy=policy)
    assert reasons(plan) == [("upload_census", "quiet hours")]
    assert decide([overdue()], chicago("2026-12-08 13:00"), policy=policy).nudges != ()


def test_in_quiet_hours_spans_midnight() -> None:
    start, end = time(18), time(8)
    assert in_quiet_hours(time(23, 59), start=start, end=end)
    assert in_quiet_hours(time(0), start=start, end=end)
    assert in_quiet_hours(time(7, 59), start=start, end=end)
    assert not in_quiet_hours(time(8), start=start, end=end)
    assert not in_quiet_hours(time(17, 59), start=start, end=end)
    assert not in_quiet_hours(time(3), start=time(9), end=time(9))  # equal bounds: no quiet hours


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    lost = Person("Lost", "lost@acme.example", "Mars/Olympus_Mons")
    assert time_zone("Mars/Olympus_Mons") is UTC
    assert time_zone("America") is UTC  # a directory of the zone database, not a zone
    assert time_zone("../etc/passwd") is UTC
    assert [n.recipient for n in decide([overdue(owner=lost)], at("2026-12-08 10:00")).nudges] == [lost]
    assert reasons(decide([overdue(owner=lost)], at("2026-12-08 08:30"))) == [("upload_census", "before send time")]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide([overdue()], datetime(2026, 12, 8, 10))


# -- digests and the daily cap ------------------------------------------------------------


def three_tasks_of_two_projects() -> list[OverdueTask]:
    return [
        overdue("approve_pay_codes", project_id="p2", customer="Acme Logistics", due_on="2026-12-03"),
        overdue("upload_census", project_id="p1", due_on="2026-12-04"),
        overdue("sign_bank_form", project_id="p1", due_on="2026-12-03"),
    ]


def test_one_digest_per_recipient_and_day_gathers_tasks_of_several_projects() -> None:
    plan = decide(three_tasks_of_two_projects(), chicago("2026-12-08 10:00"))
    (digest,) = plan.digests
    assert digest.subject == "3 overdue onboarding tasks"
    assert digest.project_id is None
    assert digest.customer_facing is True
    assert digest.reply_to == "Dana Ruiz <dana@vendor.example>"  # the contact, by name (projects without one)
    # Sorted by due date, then project, then task.
    order = [(item["due_on"], item["project"]["id"], item["task_title"]) for item in digest.context["items"]]
    assert order == [
        ("2026-12-03", "p1", "Sign bank form"),
        ("2026-12-03", "p2", "Approve pay codes"),
        ("2026-12-04", "p1", "Upload census"),
    ]
    assert [n.task_key for n in plan.nudges] == ["sign_bank_form", "approve_pay_codes", "upload_census"]
    assert {n.digest_key for n in plan.nudges} == {digest.idempotency_key}
    assert digest.context["recipient_name"] == "Lee Park"
    assert digest.context["as_of"] == "2026-12-08"
    assert digest.context["vendor_contact"] == {"name": "Dana Ruiz", "email": "dana@vendor.example"}
    json.dumps(digest.context)  # the outbox stores it as JSON


def test_a_recipient_over_the_daily_cap_has_every_nudge_deferred_not_dropped() -> None:
    sent = {(LEE.email, D("2026-12-08")): 1}
    plan = decide(three_tasks_of_two_projects(), chicago("2026-12-08 10:00"), already_sent=sent)
    assert plan.nudges == () and plan.digests == ()
    assert sorted(reason for _task, reason in plan.deferred) == ["daily cap"] * 3
    # The next day (their local day) they are decided again and go out.
    tomorrow = decide(three_tasks_of_two_projects(), chicago("2026-12-09 10:00"), already_sent=sent)
    assert len(tomorrow.nudges) == 3


def test_a_higher_cap_allows_a_second_digest_with_its_own_key() -> None:
    policy = NudgePolicy(daily_cap_per_recipient=2)
    sent = {(LEE.email, D("2026-12-08")): 1}
    plan = decide(three_tasks_of_two_projects(), chicago("2026-12-08 15:00"), policy=policy, already_sent=sent)
    (digest,) = plan.digests
    assert digest.idempotency_key == "digest:lee@acme.example:2026-12-08:2"
    assert len(digest.context["items"]) == 3


def test_digests_sent_are_counted_by_recipient_and_their_local_day_each_key_once() -> None:
    sent = [
        SentDigest(LEE.email, D("2026-12-08"), digest_key(LEE.email, D("2026-12-08"))),
        SentDigest(LEE.email, D("2026-12-08"), digest_key(LEE.email, D("2026-12-08"))),  # two nudges, one digest
        SentDigest(LEE.email, D("2026-12-08"), digest_key(LEE.email, D("2026-12-08"), 2)),
        SentDigest(LEE.email, D("2026-12-07"), digest_key(LEE.email, D("2026-12-07"))),
        SentDigest(UMA.email, D("2026-12-08"), digest_key(UMA.email, D("2026-12-08"))),
        SentDigest("a:b@x.example", D("2026-12-08"), "digest:a:b@x.example:2026-12-08"),  # never split
    ]
    assert sent_digests(sent) == {
        (LEE.email, D("2026-12-08")): 2,
        (LEE.email, D("2026-12-07")): 1,
        (UMA.email, D("2026-12-08")): 1,
        ("a:b@x.example", D("2026-12-08")): 1,
    }


def test_the_cap_counts_per_recipient_and_local_day() -> None:
    # the same address bound with two zones: 08:00 in Tokyo on the 9th, 17:00 in Chicago on the 8th
    tokyo = Person("Lee Park", LEE.email, "Asia/Tokyo")
    tasks = [overdue("in_tokyo", owner=tokyo), overdue("in_chicago", project_id="p2")]
    plan = decide(
        tasks,
        at("2026-12-08 23:00"),
        policy=NudgePolicy(quiet_hours=QuietHours(start="00:00", end="00:00"), send_at="00:00"),
    )
    assert sorted((d.idempotency_key, d.local_on) for d in plan.digests) == [
        ("digest:lee@acme.example:2026-12-08", D("2026-12-08")),
        ("digest:lee@acme.example:2026-12-09", D("2026-12-09")),
    ]


def test_the_cap_counts_per_recipient() -> None:
    tasks = [overdue("lees_task", owner=LEE), overdue("umas_task", owner=UMA)]
    plan = decide(tasks, at("2026-12-08 16:00"), already_sent={(UMA.email, D("2026-12-08")): 1})
    assert [n.task_key for n in plan.nudges] == ["lees_task"]
    assert reasons(plan) == [("umas_task", "daily cap")]


def test_a_single_nudge_has_a_reminder_subject() -> None:
    (digest,) = decide([overdue("upload_census")], chicago("2026-12-08 10:00")).digests
    assert digest.subject == "Reminder: Upload census for Acme Manufacturing"
    assert digest.project_id == "p1"


def test_owner_and_escalation_nudges_go_into_separate_digests() -> None:
    tasks = [
        overdue("first", due_on="2026-12-04"),
        overdue("second", due_on="2026-12-04", nudges_sent=2, escalation_chain=(vendor(DANA),)),
        overdue("third", project_id="p9", owner=DANA, customer_side=False, due_on="2026-12-03"),
    ]
    plan = decide(tasks, chicago("2026-12-08 10:00"))
    by_recipient = {d.to[0].email: [i["task_title"] for i in d.context["items"]] for d in plan.digests}
    assert by_recipient == {"dana@vendor.example": ["Third", "Second"], "lee@acme.example": ["First"]}
    dana = next(d for d in plan.digests if d.to == (DANA,))
    assert dana.customer_facing is False  # a vendor owner, and an escalation to a vendor person


# -- keys -------------------------------------------------------------------------------


def test_keys_are_stable_and_name_the_nudge_and_due_version() -> None:
    now = chicago("2026-12-08 10:00")
    first = decide([overdue(nudges_sent=3, due_version=2)], now)
    assert first == decide([overdue(nudges_sent=3, due_version=2)], now)
    assert first.nudges[0].key == nudge_key("p1", "upload_census", 2, 4) == "nudge:p1:upload_census:2:4"
    assert first.nudges[0].due_version == 2
    moved = decide([overdue(nudges_sent=0, due_version=3)], now)
    assert moved.nudges[0].key == "nudge:p1:upload_census:3:1"
    assert digest_key("lee@acme.example", D("2026-12-08")) == "digest:lee@acme.example:2026-12-08"
    assert digest_key("lee@acme.example", D("2026-12-08"), 3) == "digest:lee@acme.example:2026-12-08:3"


def test_input_order_does_not_change_the_plan() -> None:
    tasks = [*three_tasks_of_two_projects(), overdue("umas_task", owner=UMA, due_on="2026-12-02")]
    now = at("2026-12-08 16:00")
    assert decide(tasks, now) == decide(list(reversed(tasks)), now)


def test_a_task_given_twice_is_nudged_once() -> None:
    plan = decide([overdue(), overdue()], chicago("2026-12-08 10:00"))
    assert [n.key for n in plan.nudges] == ["nudge:p1:upload_census:1:1"]
    assert len(plan.digests[0].context["items"]) == 1


# -- cost: per-row work is lookups -----------------------------------------------------------


class CountingCalendar(BusinessCalendar):
    """The US office calendar, counting how often the nudge policy asks it anything."""

    def __init__(self) -> None:
        super().__init__(name="counting", holidays=lambda year: {})
        self.calls = 0

    def is_business_day(self, day: date) -> bool:
        self.calls += 1
        return super().is_business_day(day)

    def index(self, day: date) -> int:
        self.calls += 1
        return super().index(day)

    def prev_on_or_before(self, day: date) -> date:
        self.calls += 1
        return super().prev_on_or_before(day)


def test_calendar_work_depends_on_distinct_dates_and_zones_not_on_rows() -> None:
    calendar = CountingCalendar()
    people = [Person(f"P{i}", f"p{i}@acme.example", zone) for i, zone in enumerate(["UTC", "America/Chicago"] * 50)]
    tasks = [
        overdue(
            f"t{i}",
            project_id=f"p{i % 300}",
            owner=people[i % len(people)],
            calendar=calendar,
            due_on=(D("2026-11-20") + timedelta(days=i % 10)).isoformat(),
            nudges_sent=i % 3,
            last_nudged_on=D("2026-12-01") if i % 2 else None,
        )
        for i in range(3000)
    ]
    plan = decide(tasks, at("2026-12-08 16:00"), policy=NudgePolicy(daily_cap_per_recipient=3))
    assert len(plan.nudges) + len(plan.deferred) == 3000
    # 10 due dates + 1 last-nudged date + 2 local todays, each a few calls: nowhere near one per row.
    assert calendar.calls < 60


# -- properties -------------------------------------------------------------------------------

ZONES = ["America/Chicago", "UTC", "Asia/Tokyo", "Europe/London", "Pacific/Auckland", "Mars/Nowhere"]
PEOPLE = [Person(f"Person {i}", f"person{i}@example.com", ZONES[i % len(ZONES)]) for i in range(8)]
CALENDARS = [US, GB]


def quiet(local: time, start: time, end: time) -> bool:
    """Independent statement of quiet hours: minutes since start, modulo a day, fall short of the span."""
    span = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % 1440
    since = (local.hour * 60 + local.minute - start.hour * 60 - start.minute) % 1440
    return since < span


def naive_days_overdue(calendar: BusinessCalendar, due_on: date, today: date) -> int:
    return sum(1 for k in range(1, (today - due_on).days + 1) if calendar.is_business_day(due_on + timedelta(days=k)))


clock_times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[OverdueTask], dict[str, object]]:
    now = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 50)))
    policy = NudgePolicy(
        first_after_business_days=draw(st.integers(0, 4)),
        repeat_every_business_days=draw(st.integers(1, 3)),
        escalate_after_nudges=draw(st.integers(1, 3)),
        daily_cap_per_recipient=draw(st.integers(1, 3)),
        quiet_hours=QuietHours(start=draw(clock_times), end=draw(clock_times)),
        send_at=draw(clock_times),
    )
    keys = draw(
        st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from("abcdefgh")), unique=True, max_size=14)
    )
    tasks = []
    for project_id, task_key in keys:
        owner = draw(st.sampled_from(PEOPLE))
        others = [p for p in PEOPLE if p != owner]
        due_on = now.date() - timedelta(days=draw(st.integers(0, 30)))
        last = draw(st.none() | st.integers(0, 20).map(lambda k, d=due_on: d + timedelta(days=k)))
        tasks.append(
            overdue(
                task_key,
                project_id=project_id,
                owner=owner,
                customer_side=draw(st.booleans()),
                calendar=draw(st.sampled_from(CALENDARS)),
                due_on=due_on.isoformat(),
                due_version=draw(st.integers(1, 3)),
                nudges_sent=draw(st.integers(0, 7)),
                last_nudged_on=last,
                escalation_chain=tuple(
                    Rung(person, draw(st.sampled_from(CALENDARS)), draw(st.booleans()))
                    for person in draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
                ),
            )
        )
    options: dict[str, object] = {
        "policy": policy,
        "already_sent": draw(
            st.dictionaries(
                st.tuples(
                    st.sampled_from([p.email for p in PEOPLE]),
                    st.sampled_from([now.date() + timedelta(days=k) for k in (-1, 0, 1)]),
                ),
                st.integers(0, 3),
            )
        ),
    }
    return tasks, {"now": now, **options}


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_property_nudges_respect_calendars_quiet_hours_send_time_and_the_cap(
    scenario: tuple[list[OverdueTask], dict[str, object]],
) -> None:
    tasks, options = scenario
    now = options.pop("now")
    assert isinstance(now, datetime)
    plan = decide(tasks, now, **options)
    policy = options["policy"]
    assert isinstance(policy, NudgePolicy)
    already_sent: dict[tuple[str, date], int] = options["already_sent"]  # type: ignore[assignment]
    start, end = (time.fromisoformat(policy.quiet_hours.start), time.fromisoformat(policy.quiet_hours.end))
    send_at = time.fromisoformat(policy.send_at)

    for nudge in plan.nudges:
        zone = ZoneInfo(nudge.recipient.timezone) if nudge.recipient.timezone in ZONES[:-1] else UTC
        local = now.astimezone(zone)
        task = nudge.task
        calendar = task.owner_calendar if nudge.level == 1 else task.escalation_chain[nudge.level - 2].calendar
        assert calendar.is_business_day(local.date())
        assert not quiet(local.time(), start, end)
        assert local.time() >= send_at

    for digest in plan.digests:  # customer-facing when one of its nudges reaches a customer-side role
        sides = [
            n.task.customer_side if n.level == 1 else n.task.escalation_chain[n.level - 2].customer_side
            for n in plan.nudges
            if n.digest_key == digest.idempotency_key
        ]
        assert digest.customer_facing == any(sides)

    digests_per_day = Counter((d.to[0].email, d.local_on) for d in plan.digests)
    for sent, count in digests_per_day.items():
        assert count <= policy.daily_cap_per_recipient - already_sent.get(sent, 0)

    keys = [n.key for n in plan.nudges]
    assert len(keys) == len(set(keys))
    digest_keys = [d.idempotency_key for d in plan.digests]
    assert len(digest_keys) == len(set(digest_keys))
    items_per_digest = {d.idempotency_key: len(d.context["items"]) for d in plan.digests}
    assert Counter(n.digest_key for n in plan.nudges) == Counter(items_per_digest)

    # A task is decided (sent or deferred) exactly when the owner-side rules say it is due.
    decided = [n.task for n in plan.nudges] + [task for task, _reason in plan.deferred]
    assert len(decided) == len({(t.project_id, t.task_key) for t in decided})
    for task in tasks:
        zone = ZoneInfo(task.owner.timezone) if task.owner.timezone in ZONES[:-1] else UTC
        today = now.astimezone(zone).date()
        late = naive_days_overdue(task.owner_calendar, task.due_on, today)
        is_due = task.due_on < today and late >= policy.first_after_business_days
        last = task.last_nudged_on
        if last is not None:
            spaced = naive_days_overdue(task.owner_calendar, last, today) if last < today else 0
            is_due = is_due and spaced >= policy.repeat_every_business_days
        assert (task in decided) == is_due
    assert {reason for _task, reason in plan.deferred} <= {r.value for r in DeferReason}


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_property_deciding_twice_or_in_another_order_gives_the_same_plan(
    scenario: tuple[list[OverdueTask], dict[str, object]], shuffler: random.Random
) -> None:
    tasks, options = scenario
    now = options.pop("now")
    assert isinstance(now, datetime)
    first = decide(tasks, now, **options)
    assert decide(tasks, now, **options) == first
    shuffled = list(tasks)
    shuffler.shuffle(shuffled)
    assert decide(shuffled, now, **options) == first


def test_overdue_task_is_a_frozen_value() -> None:
    task = overdue()
    with pytest.raises(AttributeError):
        task.nudges_sent = 3  # type: ignore[misc]
    assert task._replace(nudges_sent=3).nudges_sent == 3


def _naive_business_days_between(calendar: NaiveCalendar, earlier: date, later: date) -> int:
    """Business days strictly after ``earlier`` up to and including ``later``, walking day by day."""
    count, day = 0, earlier
    while day < later:
        day += timedelta(days=1)
        count += calendar.open(day)
    return count


NAIVE_US = NaiveCalendar("US")


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=D("2026-11-01"), max_value=D("2027-02-28")),
    st.integers(min_value=-40, max_value=2),
    st.one_of(st.none(), st.integers(min_value=-30, max_value=2)),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=1, max_value=6),
)
def test_property_the_thresholds_are_the_business_day_counts_of_the_policy(
    today: date, due_offset: int, last_offset: int | None, first_after: int, repeat_every: int
) -> None:
    """due_on < due_before and (never nudged or last < nudged_before) iff the task is due a nudge on the owner's side:
    past due, at least first_after business days overdue, at least repeat_every business days since the last nudge.
    """
    policy = NudgePolicy(first_after_business_days=first_after, repeat_every_business_days=repeat_every)
    limits = nudge_thresholds(policy, US, today)
    due_on = today + timedelta(days=due_offset)
    last = None if last_offset is None else today + timedelta(days=last_offset)
    by_dates = due_on < limits.due_before and (last is None or last < limits.nudged_before)
    by_counting = (
        due_on < today
        and _naive_business_days_between(NAIVE_US, due_on, today) >= first_after
        and (last is None or _naive_business_days_between(NAIVE_US, last, today) >= repeat_every)
    )
    assert by_dates == by_counting


def test_a_digest_replies_to_each_projects_contact_never_to_its_recipient() -> None:
    sam = Person("Sam O'Neil", "sam@vendor.example", "America/New_York")
    tasks = [
        overdue("upload_census", contact=DANA, contact_title="Customer success manager", task_description="Upload it."),
        overdue("sign_bank_form", project_id="p2", contact=sam, contact_title="Engagement manager"),
        overdue("review_plans", project_id="p3", contact=DANA, contact_title="Customer success manager"),
    ]
    (digest,) = decide(tasks, chicago("2026-12-08 10:00")).digests
    assert digest.reply_to == "Dana Ruiz <dana@vendor.example>, Sam O'Neil <sam@vendor.example>"
    context = digest.context
    assert [c["name"] for c in context["contacts"]] == ["Dana Ruiz", "Sam O'Neil"]
    assert [i.get("description") for i in context["items"]] == ["Upload it.", None, None]
    assert [i["contact"]["name"] for i in context["items"]] == ["Dana Ruiz", "Sam O'Neil", "Dana Ruiz"]
    # Dana nudged about her own project's task: no Reply-To to herself
    (own,) = decide([overdue(owner=DANA, contact=DANA)], chicago("2026-12-08 10:00")).digests
    assert own.reply_to is None and own.context["contacts"] == []


@pytest.mark.parametrize(
    ("ladder", "owner", "expected"),
    [
        (["owner", "escalation", "csm"], "engineer", ("csm",)),  # its escalation is the csm: named once
        (["owner", "escalation", "csm"], "admin", ("csm",)),  # no escalation of its own
        (["owner", "escalation", "csm"], "csm", ()),  # never the owner again
        (["escalation", "admin", "csm"], "engineer", ("csm", "admin")),
        (["owner", "escalation", "admin"], "stranger", ("admin",)),  # not a role of the blueprint
    ],
)
def test_the_roles_nudged_after_an_owner_follow_the_ladder_each_once(
    ladder: list[str], owner: str, expected: tuple[str, ...]
) -> None:
    task = {"key": "a", "title": "A", "owner": "engineer", "duration_business_days": 1}
    bp = check_blueprint(blueprint_data([task], nudges={"ladder": ladder}))
    assert escalation_ladder(bp, owner) == expected
