"""The rule of a sweep's day: never later than now on a real database, never before the latest day swept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from onboarding.core.sweep_days import SweepHistory, check_sweep, sweep_instant, sweep_time
from onboarding.errors import SweepRefused

NOW = datetime(2026, 12, 2, 12, 14, tzinfo=UTC)
REAL = SweepHistory()


def codes(at: datetime, history: SweepHistory = REAL) -> list[str]:
    try:
        check_sweep(at, now=NOW, history=history)
    except SweepRefused as error:
        return error.codes
    return []


def test_today_and_earlier_days_may_be_swept_a_later_instant_only_in_a_simulation() -> None:
    assert codes(NOW) == []
    assert codes(datetime(2026, 11, 30, 17, tzinfo=UTC)) == []
    assert codes(datetime(2026, 12, 21, 17, tzinfo=UTC)) == ["sweep-in-future"]
    assert codes(datetime(2026, 12, 2, 17, tzinfo=UTC)) == ["sweep-in-future"]  # today, but later than now
    assert codes(datetime(2026, 12, 21, 17, tzinfo=UTC), SweepHistory(simulation=True)) == []


def test_never_a_day_before_the_latest_day_swept_the_same_day_again_is_fine() -> None:
    swept = SweepHistory(latest_swept_on=date(2026, 12, 1))
    assert codes(datetime(2026, 12, 1, 9, tzinfo=UTC), swept) == []
    assert codes(datetime(2026, 11, 30, 17, tzinfo=UTC), swept) == ["sweep-before-last-swept"]
    ahead = SweepHistory(latest_swept_on=date(2027, 1, 4), simulation=False)
    assert sorted(codes(datetime(2027, 1, 1, 17, tzinfo=UTC), ahead)) == ["sweep-before-last-swept", "sweep-in-future"]


def test_the_instant_of_a_sweep() -> None:
    assert sweep_instant(None, None, now=NOW) == NOW
    assert sweep_instant(date(2026, 12, 2), None, now=NOW) == NOW  # today: now
    assert sweep_instant(date(2026, 11, 30), None, now=NOW) == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert sweep_instant(None, "08:05", now=NOW) == datetime(2026, 12, 2, 8, 5, tzinfo=UTC)
    assert sweep_instant(date(2026, 11, 30), "23:59", now=NOW) == datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("text", ["25:00", "noon", "24:00", "12:60", "7", "", "-1:30", "12:5", "１２:００"])
def test_an_unreadable_time_is_refused(text: str) -> None:
    with pytest.raises(SweepRefused) as refused:
        sweep_time(text)
    assert refused.value.codes == ["invalid-sweep-time"]


def test_readable_times() -> None:
    assert [sweep_time(t) for t in ("00:00", "7:30", "23:59")] == [time(0), time(7, 30), time(23, 59)]


def test_a_day_far_out_and_a_bad_time_are_refused_together() -> None:
    with pytest.raises(SweepRefused) as refused:
        sweep_instant(date(9999, 12, 31), "25:00", now=NOW)
    assert sorted(refused.value.codes) == ["invalid-sweep-time", "sweep-day-out-of-range"]
    assert all(p.hint for p in refused.value.problems)
