"""Business-day arithmetic against the naive oracle, whatever order a calendar is asked in, and from many threads.

A calendar numbers its business days over a span of years that grows on demand, backwards
as well as forwards; a web server's threads share one. The answers must not depend on what
was asked before, nor on another thread growing the span at the same moment.
"""

from __future__ import annotations

import random
import threading
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.calendars import BusinessCalendar, CalendarKey, business_calendar
from tests.core.oracle import NaiveCalendar

ORACLE = NaiveCalendar("US")
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
steps = st.integers(min_value=-600, max_value=600)


def fresh() -> BusinessCalendar:
    """A new US calendar, shared with no other test (the cached one has grown already)."""
    return business_calendar.__wrapped__(CalendarKey("US"), name="US")  # type: ignore[attr-defined,no-any-return]


def answers(calendar: BusinessCalendar, day: date, n: int) -> tuple[object, ...]:
    open_day = calendar.next_on_or_after(day)
    return (
        calendar.is_business_day(day),
        calendar.prev_on_or_before(day),
        open_day,
        calendar.step(day, n),
        calendar.count_from(day, n),
        calendar.add(open_day, n),
        calendar.business_days_between(open_day, calendar.add(open_day, abs(n))),
    )


def expected(day: date, n: int) -> tuple[object, ...]:
    open_day = ORACLE.on_or_after(day)
    return (
        ORACLE.open(day),
        ORACLE.on_or_before(day),
        open_day,
        ORACLE.nth_after(day, n),
        ORACLE.from_last_open(day, n),
        ORACLE.nth_after(open_day, n),
        abs(n),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(days, steps), min_size=1, max_size=8))
def test_answers_do_not_depend_on_what_was_asked_before(asked: list[tuple[date, int]]) -> None:
    calendar = fresh()  # its span grows from the first day asked, backwards and forwards
    for day, n in asked:
        assert answers(calendar, day, n) == expected(day, n), (day, n)


def test_threads_growing_one_calendar_all_get_the_oracles_answers() -> None:
    rnd = random.Random(12)  # noqa: S311 - test data, not secrets
    asked = [(date(1990, 1, 1) + timedelta(days=rnd.randrange(26_000)), rnd.randint(-400, 400)) for _ in range(240)]
    truth = {(day, n): expected(day, n) for day, n in asked}
    for _ in range(3):  # each round a new calendar, grown by eight threads at once from far-apart days
        calendar = fresh()
        wrong: list[tuple[date, int, object]] = []
        start = threading.Barrier(8)

        def ask(
            share: list[tuple[date, int]],
            calendar: BusinessCalendar = calendar,
            start: threading.Barrier = start,
            wrong: list[tuple[date, int, object]] = wrong,
        ) -> None:
            start.wait()
            for day, n in share:
                try:
                    got: object = answers(calendar, day, n)
                except Exception as error:  # any error is a wrong answer here
                    got = error
                if got != truth[(day, n)]:
                    wrong.append((day, n, got))

        shares = [asked[i::8] for i in range(8)]
        threads = [threading.Thread(target=ask, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert wrong == []
