"""The customer's own calendar per project: its checks, and plans that move exactly as that calendar says."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboarding.core.blueprint import CalendarName
from onboarding.core.checks import check_blueprint
from onboarding.core.customer_calendar import CustomerCalendar, customer_calendar, with_customer_zone
from onboarding.core.messages import Person
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.plan_view import plan_document
from onboarding.core.planning import plan_project
from tests.conftest import blueprint_data
from tests.core.oracle import NaiveCalendar, naive_forward
from tests.core.test_planning import graphs, naive_calendars

D = date.fromisoformat
ROOT = Path(__file__).parents[2]


def chain(owner: str = "admin") -> list[dict[str, Any]]:
    """Three customer tasks one after the other, then a vendor one."""
    return [
        {"key": "a", "title": "a", "owner": owner, "duration_business_days": 3},
        {"key": "b", "title": "b", "owner": owner, "duration_business_days": 4, "depends_on": ["a"]},
        {"key": "c", "title": "c", "owner": "engineer", "duration_business_days": 2, "depends_on": ["b"]},
    ]


def oracle(customer: NaiveCalendar, kickoff: date) -> dict[str, tuple[date, date]]:
    flat = [
        {"key": "a", "calendar": "customer", "duration": 3, "deps": []},
        {"key": "b", "calendar": "customer", "duration": 4, "deps": [("a", "FS", 0)]},
        {"key": "c", "calendar": "vendor", "duration": 2, "deps": [("b", "FS", 0)]},
    ]
    return naive_forward(flat, {"customer": customer, "vendor": NaiveCalendar("US")}, kickoff)


def dated(plan: Any) -> dict[str, tuple[date, date]]:
    return {t.task.key: (t.start_on, t.due_on) for t in plan.tasks}


def test_a_customer_in_quebec_and_one_in_ontario_are_dated_on_their_own_holidays() -> None:
    bp = check_blueprint(blueprint_data(chain()))  # the blueprint's customer is in the US
    kickoff = D("2027-06-21")
    quebec, _ = customer_calendar(blueprint=bp, country="CA", subdivision="QC")
    ontario, _ = customer_calendar(blueprint=bp, country="ca", subdivision="on")
    assert quebec == CustomerCalendar("CA", "QC") and ontario == CustomerCalendar("CA", "ON")
    in_quebec = dated(plan_project(bp, kickoff_on=kickoff, customer_calendar=quebec))
    in_ontario = dated(plan_project(bp, kickoff_on=kickoff, customer_calendar=ontario))
    assert in_quebec == oracle(NaiveCalendar("CA", "QC"), kickoff)
    assert in_ontario == oracle(NaiveCalendar("CA", "ON"), kickoff)
    # Saint-Jean-Baptiste (Thu 24 June) closes Quebec only
    assert in_ontario["a"] == (D("2027-06-21"), D("2027-06-23"))
    assert in_ontario["b"] == (D("2027-06-24"), D("2027-06-29"))
    assert in_quebec["b"] == (D("2027-06-25"), D("2027-06-30"))
    # the vendor task stays on the vendor's (US) calendar: Canada Day is a working day there
    assert in_quebec["c"] == (D("2027-07-01"), D("2027-07-02"))


def test_a_customer_in_england_with_an_extra_closed_day() -> None:
    bp = check_blueprint(blueprint_data(chain()))
    kickoff = D("2026-12-21")
    own, problems = customer_calendar(
        blueprint=bp, country="GB", subdivision="ENG", closed_days=["2027-01-04"], time_zone="Europe/London"
    )
    assert problems == [] and own == CustomerCalendar("GB", "ENG", (D("2027-01-04"),), "Europe/London")
    planned = dated(plan_project(bp, kickoff_on=kickoff, customer_calendar=own))
    expected = oracle(NaiveCalendar("GB", "ENG", closed=frozenset({D("2027-01-04")})), kickoff)
    assert planned == expected
    # 21-23 Dec; then 24 Dec, (25, 26, 28 Dec and 1 Jan closed), 29, 30, 31 Dec
    assert planned["a"] == (D("2026-12-21"), D("2026-12-23"))
    assert planned["b"] == (D("2026-12-24"), D("2026-12-31"))
    without_extra, _ = customer_calendar(blueprint=bp, country="GB", subdivision="ENG")
    shorter = dated(plan_project(bp, kickoff_on=D("2026-12-28"), customer_calendar=without_extra))
    longer = dated(plan_project(bp, kickoff_on=D("2026-12-28"), customer_calendar=own))
    assert shorter["a"] == (D("2026-12-29"), D("2026-12-31"))
    assert shorter["b"][0] == D("2027-01-04") and longer["b"][0] == D("2027-01-05")


def test_no_customer_calendar_is_the_blueprints_exactly() -> None:
    bp = check_blueprint(blueprint_data(chain(), customer={"country": "US", "subdivision": "NY"}))
    none, problems = customer_calendar(blueprint=bp)
    assert none is None and problems == []
    zone_only, _ = customer_calendar(blueprint=bp, time_zone="America/New_York")
    assert zone_only is not None and not zone_only.changes_calendar
    base = plan_project(bp, kickoff_on=D("2027-02-08"))
    assert plan_document(plan_project(bp, kickoff_on=D("2027-02-08"), customer_calendar=zone_only)) == plan_document(
        base
    )


def test_a_subdivision_alone_keeps_the_blueprints_country_and_closed_days() -> None:
    bp = check_blueprint(
        blueprint_data(chain(), customer={"country": "US", "subdivision": "NY", "closed_days": ["2027-02-10"]})
    )
    own, problems = customer_calendar(blueprint=bp, subdivision="CA", closed_days=["2027-02-11"])
    assert problems == []
    plan = plan_project(bp, kickoff_on=D("2027-02-08"), customer_calendar=own)
    key = plan.calendars[CalendarName.customer]
    assert (key.country, key.subdivision) == ("US", "CA")
    assert [d for d, _ in key.closed_days] == [D("2027-02-10"), D("2027-02-11")]
    naive = NaiveCalendar("US", "CA", closed=frozenset({D("2027-02-10"), D("2027-02-11")}))
    assert dated(plan) == oracle(naive, D("2027-02-08"))


def test_the_go_live_window_uses_the_customers_calendar_as_a_blueprint_saying_so_would() -> None:
    """The example beside-payroll blueprint, launched for a customer in Ontario, plans exactly as the same
    blueprint written with an Ontario customer calendar (the settlement calendar is the blueprint's own)."""
    path = ROOT / "blueprints" / "hr-platform-beside-payroll.yaml"
    data = yaml.safe_load(path.read_text())
    bp = check_blueprint(data)
    rewritten = dict(data, calendars={**data["calendars"], "customer": {"country": "CA", "subdivision": "ON"}})
    expected = plan_project(
        check_blueprint(rewritten), kickoff_on=D("2027-06-07"), pay_schedule=parse_pay_schedule("biweekly:2027-01-08")
    )
    own, _ = customer_calendar(blueprint=bp, country="CA", subdivision="ON")
    got = plan_project(
        bp, kickoff_on=D("2027-06-07"), pay_schedule=parse_pay_schedule("biweekly:2027-01-08"), customer_calendar=own
    )
    assert plan_document(got) == plan_document(expected)
    assert plan_document(got) != plan_document(
        plan_project(bp, kickoff_on=D("2027-06-07"), pay_schedule=parse_pay_schedule("biweekly:2027-01-08"))
    )


def test_every_problem_at_once_coded_and_located() -> None:
    bp = check_blueprint(blueprint_data(chain()))
    own, problems = customer_calendar(
        blueprint=bp,
        country="Canada",
        closed_days=["2027-01-04", "next monday", "2027-02-30"],
        time_zone="Europe/Londn",
    )
    assert own is None
    assert sorted((p.code, p.loc) for p in problems) == [
        ("invalid-customer-closed-day", ("customer_closed_days", 1)),
        ("invalid-customer-closed-day", ("customer_closed_days", 2)),
        ("invalid-time-zone", ("customer_time_zone",)),
        ("unknown-customer-country", ("customer_country",)),
    ]
    country = next(p for p in problems if p.code == "unknown-customer-country")
    assert "'CA'" in country.hint


def test_an_unknown_subdivision_is_checked_against_the_country_given_or_the_blueprints() -> None:
    bp = check_blueprint(blueprint_data(chain()))
    _, problems = customer_calendar(blueprint=bp, country="CA", subdivision="Quebec")
    assert [(p.code, p.loc) for p in problems] == [("unknown-customer-subdivision", ("customer_subdivision",))]
    assert "'QC'" in problems[0].hint
    _, problems = customer_calendar(blueprint=bp, subdivision="QC")  # the blueprint's customer is in the US
    assert [p.code for p in problems] == ["unknown-customer-subdivision"]
    own, problems = customer_calendar(blueprint=bp, subdivision="tx")
    assert problems == [] and own == CustomerCalendar(None, "TX")


def test_customer_side_people_bound_without_a_zone_take_the_customers() -> None:
    bp = check_blueprint(blueprint_data(chain()))
    people = {
        "csm": Person("Dana", "dana@vendor.example"),
        "admin": Person("Lee", "lee@acme.example"),
        "engineer": Person("Ivo", "ivo@vendor.example", "Europe/Sofia"),
    }
    own = CustomerCalendar("GB", time_zone="Europe/London")
    zoned = with_customer_zone(people, bp, own)
    assert zoned["admin"].timezone == "Europe/London"
    assert zoned["csm"].timezone == "UTC" and zoned["engineer"].timezone == "Europe/Sofia"
    assert with_customer_zone(people, bp, None) == people


@pytest.mark.parametrize("text", ["US", "us", " US "])
def test_country_codes_are_read_in_upper_case(text: str) -> None:
    bp = check_blueprint(blueprint_data(chain()))
    own, problems = customer_calendar(blueprint=bp, country=text)
    assert problems == [] and own == CustomerCalendar("US")


PLACES = [("GB", "ENG"), ("CA", "QC"), ("CA", "ON"), ("DE", "BY"), ("JP", None), ("US", "NY")]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.sampled_from(PLACES), st.lists(st.integers(0, 120), max_size=6))
def test_plans_on_a_customers_own_calendar_match_the_naive_oracle(
    case: tuple[dict[str, Any], date], place: tuple[str, str | None], offsets: list[int]
) -> None:
    data, kickoff = case
    bp = check_blueprint(data)
    closed = sorted({kickoff + timedelta(days=n) for n in offsets})
    own, problems = customer_calendar(blueprint=bp, country=place[0], subdivision=place[1], closed_days=closed)
    assert problems == []
    p = plan_project(bp, kickoff_on=kickoff, customer_calendar=own)
    cals = {
        "vendor": naive_calendars(data)["vendor"],
        "customer": NaiveCalendar(place[0], place[1], closed=frozenset(closed)),
    }
    side = {k: v["side"] for k, v in data["roles"].items()}
    flat = [
        {
            "key": t["key"],
            "calendar": side[t["owner"]],
            "duration": t.get("duration_business_days", 0),
            "deps": [(d["task"], d["type"], d["lag_business_days"]) for d in t["depends_on"]],
        }
        for t in data["milestones"][0]["tasks"]
    ]
    expected = naive_forward(flat, cals, kickoff)
    for t in p.tasks:
        assert (t.start_on, t.due_on) == expected[t.task.key], t.task.key
