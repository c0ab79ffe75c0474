"""Pay schedules, rolls and check dates on the real Federal Reserve calendar."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.calendars import BusinessCalendar, CalendarKey, business_calendar
from onboarding.core.payroll import (
    Frequency,
    PayDate,
    PaySchedule,
    Roll,
    check_date_class,
    extra_payday_warnings,
    is_first_check_of_quarter,
    is_first_check_of_year,
    parse_pay_schedule,
    pay_dates,
    roll,
)
from onboarding.errors import PayScheduleInvalid


@pytest.fixture(scope="module")
def settlement() -> BusinessCalendar:
    return business_calendar(CalendarKey("US", market="XFED"), name="settlement")


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    return business_calendar(CalendarKey("US"), name="customer")


def paid(schedule: str, settlement: BusinessCalendar, start: date, end: date) -> list[date]:
    return [pay.paid_on for pay in pay_dates(parse_pay_schedule(schedule), settlement, start=start, end=end)]


# -- the parser -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("weekly:2026-01-02", PaySchedule(Frequency.weekly, date(2026, 1, 2))),
        ("biweekly:2026-01-02", PaySchedule(Frequency.biweekly, date(2026, 1, 2))),
        ("bi-weekly:2026-01-02", PaySchedule(Frequency.biweekly, date(2026, 1, 2))),
        ("semimonthly:15,last", PaySchedule(Frequency.semimonthly, None, (15, "last"))),
        ("semi-monthly:1,15", PaySchedule(Frequency.semimonthly, None, (1, 15))),
        ("semimonthly:15,last-business", PaySchedule(Frequency.semimonthly, None, (15, "last-business"))),
        ("monthly:last", PaySchedule(Frequency.monthly, None, ("last",))),
        ("monthly:31", PaySchedule(Frequency.monthly, None, (31,))),
        ("monthly:last-business", PaySchedule(Frequency.monthly, None, ("last-business",))),
        ("  BiWeekly:2026-01-02:Following  ", PaySchedule(Frequency.biweekly, date(2026, 1, 2), roll=Roll.following)),
        ("weekly:2026-07-03:nearest", PaySchedule(Frequency.weekly, date(2026, 7, 3), roll=Roll.nearest)),
        (
            "SEMI-MONTHLY: 15 , LAST :modified-following",
            PaySchedule(Frequency.semimonthly, None, (15, "last"), Roll.modified_following),
        ),
        ("monthly:1:preceding", PaySchedule(Frequency.monthly, None, (1,), Roll.preceding)),
    ],
)
def test_parse_every_form(spec: str, expected: PaySchedule) -> None:
    assert parse_pay_schedule(spec) == expected


@pytest.mark.parametrize("convention", list(Roll))
def test_parse_every_roll(convention: Roll) -> None:
    assert parse_pay_schedule(f"monthly:last:{convention.value}").roll is convention


@pytest.mark.parametrize(
    "spec",
    [
        "weekly:2026-01-02",
        "biweekly:2026-01-02:following",
        "semimonthly:15,last:nearest",
        "semimonthly:1,15",
        "semimonthly:10,last-business:modified-following",
        "monthly:last-business",
        "monthly:31:following",
    ],
)
def test_spec_round_trips(spec: str) -> None:
    schedule = parse_pay_schedule(spec)
    assert schedule.spec() == spec
    assert parse_pay_schedule(schedule.spec()) == schedule


def test_spec_is_canonical() -> None:
    assert parse_pay_schedule(" Bi-Weekly:2026-01-02:PRECEDING ").spec() == "biweekly:2026-01-02"
    assert parse_pay_schedule("semi-monthly:05,LAST:Following").spec() == "semimonthly:5,last:following"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        "weekly",
        "fortnightly:2026-01-02",
        "weekly:",
        "weekly:2026-1-2",
        "weekly:20260102",
        "weekly:2026-02-30",
        "biweekly:15",
        "weekly:2026-01-02:sometimes",
        "weekly:2026-01-02:preceding:extra",
        "semimonthly:15",
        "semimonthly:1,15,last",
        "semimonthly:15,1",
        "semimonthly:15,15",
        "semimonthly:last,15",
        "semimonthly:last-business,last",
        "semimonthly:28,last",
        "semimonthly:27,last-business",
        "semimonthly:15,",
        "semimonthly:0,15",
        "semimonthly:15,32",
        "semimonthly:2026-01-02",
        "monthly:",
        "monthly:0",
        "monthly:32",
        "monthly:-1",
        "monthly:first",
        "monthly:1,15",
        "monthly:2026-01-02",
        "monthly:last:modified following",
    ],
)
def test_bad_spec_is_one_coded_problem(spec: str) -> None:
    with pytest.raises(PayScheduleInvalid) as caught:
        parse_pay_schedule(spec, source="blueprint.pay_schedule")
    error = caught.value
    assert error.codes == ["invalid-pay-schedule"]
    assert error.source == "blueprint.pay_schedule"
    assert error.problems[0].message
    assert "semimonthly:15,last" in error.problems[0].hint
    assert isinstance(error, ValueError)


def test_schedule_built_directly_is_checked() -> None:
    with pytest.raises(PayScheduleInvalid):
        PaySchedule(Frequency.weekly, None)
    with pytest.raises(PayScheduleInvalid):
        PaySchedule(Frequency.monthly, date(2026, 1, 2), (1,))
    with pytest.raises(PayScheduleInvalid):
        PaySchedule(Frequency.semimonthly, None, (15,))


# -- the Federal Reserve calendar -------------------------------------------------


def test_fed_keeps_saturday_holiday_and_moves_sunday_one(
    settlement: BusinessCalendar, office: BusinessCalendar
) -> None:
    assert date(2026, 7, 4).weekday() == 5
    assert settlement.is_business_day(date(2026, 7, 3))  # banks open the Friday
    assert not office.is_business_day(date(2026, 7, 3))  # offices observe it
    assert date(2027, 7, 4).weekday() == 6
    assert not settlement.is_business_day(date(2027, 7, 5))
    assert settlement.closure_reason(date(2026, 11, 11)) == "Veterans Day"


def test_weekly_friday_payday_stays_on_saturday_holiday_eve(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("weekly:2026-07-03")
    (pay,) = pay_dates(schedule, settlement, start=date(2026, 7, 1), end=date(2026, 7, 7))
    assert pay == PayDate(scheduled_on=date(2026, 7, 3), paid_on=date(2026, 7, 3))
    assert not pay.rolled


def test_payday_on_veterans_day_rolls(settlement: BusinessCalendar) -> None:
    (pay,) = pay_dates(parse_pay_schedule("monthly:11"), settlement, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert pay.scheduled_on == date(2026, 11, 11)
    assert pay.paid_on == date(2026, 11, 10)
    assert pay.rolled


# -- roll conventions -------------------------------------------------------------

MLK_MONDAY = date(2026, 1, 19)
CHRISTMAS_FRIDAY = date(2026, 12, 25)
SATURDAY = date(2026, 7, 4)
SUNDAY = date(2026, 11, 15)
SUNDAY_HOLIDAY = date(2027, 7, 4)  # Monday 2027-07-05 closed too
MAY_END_SUNDAY = date(2026, 5, 31)
JANUARY_END_SATURDAY = date(2026, 1, 31)


@pytest.mark.parametrize(
    ("day", "convention", "expected"),
    [
        (date(2026, 1, 20), Roll.preceding, date(2026, 1, 20)),
        (date(2026, 1, 20), Roll.nearest, date(2026, 1, 20)),
        (MLK_MONDAY, Roll.preceding, date(2026, 1, 16)),
        (MLK_MONDAY, Roll.following, date(2026, 1, 20)),
        (MLK_MONDAY, Roll.nearest, date(2026, 1, 20)),
        (MLK_MONDAY, Roll.modified_following, date(2026, 1, 20)),
        (CHRISTMAS_FRIDAY, Roll.preceding, date(2026, 12, 24)),
        (CHRISTMAS_FRIDAY, Roll.following, date(2026, 12, 28)),
        (CHRISTMAS_FRIDAY, Roll.nearest, date(2026, 12, 24)),
        (CHRISTMAS_FRIDAY, Roll.modified_following, date(2026, 12, 28)),
        (SATURDAY, Roll.nearest, date(2026, 7, 3)),
        (SATURDAY, Roll.following, date(2026, 7, 6)),
        (SUNDAY, Roll.preceding, date(2026, 11, 13)),
        (SUNDAY, Roll.nearest, date(2026, 11, 16)),
        (SUNDAY_HOLIDAY, Roll.nearest, date(2027, 7, 2)),  # two days either way: a tie goes back
        (SUNDAY_HOLIDAY, Roll.following, date(2027, 7, 6)),
        (MAY_END_SUNDAY, Roll.following, date(2026, 6, 1)),
        (MAY_END_SUNDAY, Roll.modified_following, date(2026, 5, 29)),
        (JANUARY_END_SATURDAY, Roll.modified_following, date(2026, 1, 30)),
        (date(2027, 1, 1), Roll.preceding, date(2026, 12, 31)),
        (date(2027, 1, 1), Roll.following, date(2027, 1, 4)),
        (date(2027, 1, 1), Roll.modified_following, date(2027, 1, 4)),
    ],
)
def test_roll(settlement: BusinessCalendar, day: date, convention: Roll, expected: date) -> None:
    assert roll(day, convention, settlement) == expected


# -- generated pay dates ----------------------------------------------------------


def test_biweekly_has_27_check_dates_in_2026(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02")
    dates = pay_dates(schedule, settlement, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert len(dates) == 27
    assert dates[0].paid_on == date(2026, 1, 2)
    assert dates[-1] == PayDate(scheduled_on=date(2027, 1, 1), paid_on=date(2026, 12, 31))
    assert dates[-1].rolled


def test_rolled_payday_is_found_from_either_side(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02")
    assert [p.paid_on for p in pay_dates(schedule, settlement, start=date(2026, 12, 31), end=date(2026, 12, 31))] == [
        date(2026, 12, 31)
    ]
    assert pay_dates(schedule, settlement, start=date(2027, 1, 1), end=date(2027, 1, 14)) == ()
    assert pay_dates(schedule, settlement, start=date(2027, 1, 2), end=date(2026, 12, 1)) == ()


def test_first_check_of_2027_after_rolled_new_year(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02")
    dates = pay_dates(schedule, settlement, start=date(2026, 10, 1), end=date(2027, 3, 31))
    by_paid = {pay.paid_on: pay for pay in dates}
    assert check_date_class(by_paid[date(2026, 12, 31)], dates) == "other"
    first_2027 = by_paid[date(2027, 1, 15)]
    assert check_date_class(first_2027, dates) == "year_start"
    assert is_first_check_of_year(first_2027, dates)
    assert check_date_class(by_paid[date(2027, 1, 29)], dates) == "other"
    assert not is_first_check_of_year(by_paid[date(2027, 1, 29)], dates)


def test_following_roll_keeps_new_year_payday_in_2027(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02:following")
    dates = pay_dates(schedule, settlement, start=date(2026, 10, 1), end=date(2027, 1, 31))
    new_year = next(pay for pay in dates if pay.scheduled_on == date(2027, 1, 1))
    assert new_year.paid_on == date(2027, 1, 4)
    assert check_date_class(new_year, dates) == "year_start"
    in_2026 = pay_dates(schedule, settlement, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert len(in_2026) == 26


def test_biweekly_counts_backwards_from_anchor(settlement: BusinessCalendar) -> None:
    assert paid("biweekly:2026-01-02", settlement, date(2025, 12, 1), date(2025, 12, 31)) == [
        date(2025, 12, 5),
        date(2025, 12, 19),
    ]


def test_semimonthly_15_on_sunday_rolls_to_friday(settlement: BusinessCalendar) -> None:
    dates = pay_dates(
        parse_pay_schedule("semimonthly:15,last"), settlement, start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    assert dates == (
        PayDate(scheduled_on=date(2026, 11, 15), paid_on=date(2026, 11, 13)),
        PayDate(scheduled_on=date(2026, 11, 30), paid_on=date(2026, 11, 30)),
    )


def test_semimonthly_last_calendar_day_rolls_but_last_business_does_not(settlement: BusinessCalendar) -> None:
    # 2026-01-31 is a Saturday: "last" is scheduled that day and rolled; "last-business" is the Friday itself.
    # Sunday 2026-02-15 rolls past Presidents Day to Tuesday; Saturday 2026-02-28 rolls out of February.
    last = pay_dates(
        parse_pay_schedule("semimonthly:15,last:following"), settlement, start=date(2026, 1, 1), end=date(2026, 2, 28)
    )
    assert last == (
        PayDate(scheduled_on=date(2026, 1, 15), paid_on=date(2026, 1, 15)),
        PayDate(scheduled_on=date(2026, 1, 31), paid_on=date(2026, 2, 2)),
        PayDate(scheduled_on=date(2026, 2, 15), paid_on=date(2026, 2, 17)),
    )
    business = pay_dates(
        parse_pay_schedule("semimonthly:15,last-business:following"),
        settlement,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
    )
    assert business == (
        PayDate(scheduled_on=date(2026, 1, 15), paid_on=date(2026, 1, 15)),
        PayDate(scheduled_on=date(2026, 1, 30), paid_on=date(2026, 1, 30)),
    )
    assert not business[-1].rolled


def test_monthly_last_business_day(settlement: BusinessCalendar) -> None:
    # May 2026 ends on a Sunday, so the last banking day is Friday the 29th; it is never rolled.
    assert paid("monthly:last-business", settlement, date(2026, 5, 1), date(2026, 6, 30)) == [
        date(2026, 5, 29),
        date(2026, 6, 30),
    ]
    assert paid("monthly:last-business:following", settlement, date(2026, 5, 1), date(2026, 5, 31)) == [
        date(2026, 5, 29)
    ]


def test_monthly_31_in_february(settlement: BusinessCalendar) -> None:
    # 2026-02-28 is a Saturday; 2027-02-28 a Sunday; 2028 is a leap year (Tuesday 29th).
    assert pay_dates(parse_pay_schedule("monthly:31"), settlement, start=date(2026, 2, 1), end=date(2026, 2, 28)) == (
        PayDate(scheduled_on=date(2026, 2, 28), paid_on=date(2026, 2, 27)),
    )
    assert paid("monthly:31:following", settlement, date(2026, 3, 1), date(2026, 3, 31)) == [
        date(2026, 3, 2),
        date(2026, 3, 31),
    ]
    assert paid("monthly:31:modified-following", settlement, date(2026, 2, 1), date(2026, 3, 31)) == [
        date(2026, 2, 27),
        date(2026, 3, 31),
    ]
    assert paid("monthly:31", settlement, date(2028, 2, 1), date(2028, 2, 29)) == [date(2028, 2, 29)]
    assert paid("monthly:30", settlement, date(2025, 2, 1), date(2025, 2, 28)) == [date(2025, 2, 28)]


def test_rolled_forward_payday_belongs_to_range_it_lands_in(settlement: BusinessCalendar) -> None:
    # Saturday 2026-01-31 rolls forward into February; Saturday 2026-02-28 rolls forward to Monday 2026-03-02.
    assert paid("monthly:31:following", settlement, date(2026, 2, 1), date(2026, 2, 28)) == [date(2026, 2, 2)]
    assert paid("monthly:31:following", settlement, date(2026, 3, 2), date(2026, 3, 2)) == [date(2026, 3, 2)]


def test_dates_far_from_what_the_calendar_has_indexed() -> None:
    # A calendar that has indexed only 2026 must still answer correctly for 2020 and 2031.
    fresh = business_calendar(CalendarKey("US", market="XFED"), name="settlement-fresh-for-payroll-test")
    assert fresh.is_business_day(date(2026, 6, 1))
    assert roll(date(2020, 6, 6), Roll.preceding, fresh) == date(2020, 6, 5)
    edge = business_calendar(CalendarKey("US", market="XFED"), name="settlement-fresh-for-payroll-test-3")
    assert edge.is_business_day(date(2026, 6, 1))  # indexes 2025..2027
    assert roll(date(2025, 1, 1), Roll.preceding, edge) == date(2024, 12, 31)
    schedule = parse_pay_schedule("monthly:1")
    assert [p.paid_on for p in pay_dates(schedule, fresh, start=date(2031, 1, 1), end=date(2031, 2, 28))] == [
        date(2031, 1, 31),  # 2031-01-01 rolls back into 2030; 2031-02-01 is a Saturday
        date(2031, 2, 28),  # 2031-03-01 is a Saturday
    ]
    other = business_calendar(CalendarKey("US", market="XFED"), name="settlement-fresh-for-payroll-test-2")
    assert other.is_business_day(date(2026, 6, 1))
    assert [p.paid_on for p in pay_dates(schedule, other, start=date(2010, 1, 1), end=date(2010, 3, 31))] == [
        date(2010, 2, 1),  # 2010-01-01 (a Friday holiday) rolls back into 2009
        date(2010, 3, 1),
    ]


def test_two_years_of_dates_are_fast(settlement: BusinessCalendar) -> None:
    schedules = [parse_pay_schedule(s) for s in ("weekly:2026-01-02", "semimonthly:15,last", "monthly:last-business")]
    for schedule in schedules:  # warm the calendar's index
        pay_dates(schedule, settlement, start=date(2026, 1, 1), end=date(2027, 12, 31))
    rounds = 50
    began = time.perf_counter()
    for _ in range(rounds):
        for schedule in schedules:
            pay_dates(schedule, settlement, start=date(2026, 1, 1), end=date(2027, 12, 31))
    per_call = (time.perf_counter() - began) / (rounds * len(schedules))
    assert per_call < 0.002


# -- check-date classes ------------------------------------------------------------


def test_quarter_start(settlement: BusinessCalendar) -> None:
    # Biweekly Fridays from 2026-01-02: 2026-03-27, then 2026-04-10 opens Q2.
    dates = pay_dates(
        parse_pay_schedule("biweekly:2026-01-02"), settlement, start=date(2026, 1, 1), end=date(2026, 6, 30)
    )
    by_paid = {pay.paid_on: pay for pay in dates}
    assert check_date_class(by_paid[date(2026, 4, 10)], dates) == "quarter_start"
    assert is_first_check_of_quarter(by_paid[date(2026, 4, 10)], dates)
    assert not is_first_check_of_year(by_paid[date(2026, 4, 10)], dates)
    assert check_date_class(by_paid[date(2026, 4, 24)], dates) == "other"
    assert check_date_class(by_paid[date(2026, 3, 27)], dates) == "other"


def test_quarter_boundary_is_the_adjusted_date(settlement: BusinessCalendar) -> None:
    # Monthly on the 1st: 2026-10-01 is a Thursday, 2027-01-01 rolls back into 2026 Q4.
    dates = pay_dates(parse_pay_schedule("monthly:1"), settlement, start=date(2026, 9, 1), end=date(2027, 3, 31))
    by_scheduled = {pay.scheduled_on: pay for pay in dates}
    assert check_date_class(by_scheduled[date(2026, 10, 1)], dates) == "quarter_start"
    assert by_scheduled[date(2027, 1, 1)].paid_on == date(2026, 12, 31)
    assert check_date_class(by_scheduled[date(2027, 1, 1)], dates) == "other"
    assert check_date_class(by_scheduled[date(2027, 2, 1)], dates) == "year_start"


def test_classification_needs_dates_from_before_the_quarter(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02")
    dates = pay_dates(schedule, settlement, start=date(2027, 1, 1), end=date(2027, 3, 31))
    with pytest.raises(ValueError, match="quarter"):
        check_date_class(dates[0], dates)
    assert check_date_class(dates[1], dates) == "other"  # an earlier check in the quarter is enough to tell
    with pytest.raises(ValueError, match="quarter"):
        check_date_class(dates[0], ())


# -- extra paydays ----------------------------------------------------------------


def test_extra_payday_warnings_biweekly(settlement: BusinessCalendar) -> None:
    schedule = parse_pay_schedule("biweekly:2026-01-02")
    assert extra_payday_warnings(schedule, settlement, years=range(2025, 2029)) == (
        "2026 has 27 biweekly check dates: 2026-12-31 is the payday of 2027-01-01 rolled back",
    )
    # Rolled following, 2027-01-01 stays in 2027, which then holds 27 Fridays from 2027-01-01 to 2027-12-31.
    assert extra_payday_warnings(
        parse_pay_schedule("biweekly:2026-01-02:following"), settlement, years=[2026, 2027]
    ) == ("2027 has 27 biweekly check dates",)


def test_extra_payday_warnings_weekly(settlement: BusinessCalendar) -> None:
    # Fridays: 2026 has 52 scheduled plus 2027-01-01 rolled back.
    warnings = extra_payday_warnings(parse_pay_schedule("weekly:2026-01-02"), settlement, years=[2026, 2027])
    assert warnings == ("2026 has 53 weekly check dates: 2026-12-31 is the payday of 2027-01-01 rolled back",)
    # Thursdays in 2026 (a Thursday year) number 53 with no roll at all.
    assert extra_payday_warnings(parse_pay_schedule("weekly:2026-01-01:following"), settlement, years=[2026]) == (
        "2026 has 53 weekly check dates",
    )


def test_extra_payday_warnings_forward_roll(settlement: BusinessCalendar) -> None:
    # Sunday paydays rolled following: Sunday 2023-12-31 is paid Tuesday 2024-01-02 (New Year's Day Monday).
    warnings = extra_payday_warnings(parse_pay_schedule("weekly:2023-12-31:following"), settlement, years=[2023, 2024])
    assert warnings == ("2024 has 53 weekly check dates: 2024-01-02 is the payday of 2023-12-31 rolled forward",)


def test_no_warnings_for_monthly_schedules(settlement: BusinessCalendar) -> None:
    assert extra_payday_warnings(parse_pay_schedule("semimonthly:15,last"), settlement, years=[2026]) == ()
    assert extra_payday_warnings(parse_pay_schedule("monthly:1"), settlement, years=[2026]) == ()


# -- properties -------------------------------------------------------------------

_ANCHORS = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
_ROLLS = st.sampled_from(list(Roll))


@st.composite
def schedules(draw: st.DrawFn) -> PaySchedule:
    frequency = draw(st.sampled_from(list(Frequency)))
    convention = draw(_ROLLS)
    if frequency in (Frequency.weekly, Frequency.biweekly):
        return PaySchedule(frequency, draw(_ANCHORS), (), convention)
    if frequency is Frequency.monthly:
        day = draw(st.one_of(st.integers(1, 31), st.sampled_from(["last", "last-business"])))
        return PaySchedule(frequency, None, (day,), convention)
    # Realistic pairs: paydays at least a week apart, across the month's end too,
    # so rolled paydays never meet.
    first = draw(st.integers(1, 15))
    ends = st.sampled_from(["last", "last-business"]) if first >= 7 else st.nothing()
    second = draw(st.one_of(st.integers(first + 7, min(31, first + 21)), ends))
    return PaySchedule(frequency, None, (first, second), convention)


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(), start=_ANCHORS, length=st.integers(0, 800))
def test_pay_dates_land_on_business_days_sorted_and_close(schedule: PaySchedule, start: date, length: int) -> None:
    settlement = business_calendar(CalendarKey("US", market="XFED"), name="settlement")
    end = start + timedelta(days=length)
    dates = pay_dates(schedule, settlement, start=start, end=end)
    paid_on = [pay.paid_on for pay in dates]
    assert paid_on == sorted(paid_on)
    assert len(set(paid_on)) == len(paid_on)
    assert len({pay.scheduled_on for pay in dates}) == len(dates)
    for pay in dates:
        assert start <= pay.paid_on <= end
        assert settlement.is_business_day(pay.paid_on)
        assert abs((pay.paid_on - pay.scheduled_on).days) <= 7
        assert pay.paid_on == pay.scheduled_on or not settlement.is_business_day(pay.scheduled_on)
    assert parse_pay_schedule(schedule.spec()) == schedule


@settings(max_examples=100, deadline=None)
@given(schedule=schedules(), start=_ANCHORS, length=st.integers(0, 400), cut=st.integers(0, 400))
def test_pay_dates_split_ranges_add_up(schedule: PaySchedule, start: date, length: int, cut: int) -> None:
    settlement = business_calendar(CalendarKey("US", market="XFED"), name="settlement")
    end = start + timedelta(days=length)
    middle = start + timedelta(days=min(cut, length))
    whole = pay_dates(schedule, settlement, start=start, end=end)
    left = pay_dates(schedule, settlement, start=start, end=middle)
    right = pay_dates(schedule, settlement, start=middle + timedelta(days=1), end=end)
    assert whole == left + right
