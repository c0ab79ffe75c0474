"""The team's pages' rules as values: My tasks' groups, the portfolio's cursor, CSV cells, session digests."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from onboarding.core.lifecycle import ProjectState
from onboarding.core.portfolio_page import PortfolioRow, PortfolioSort, csv_cell, cursor_after, read_cursor
from onboarding.core.team_members import MemberTask, csrf_matches, csrf_token, digest, group_my_tasks
from onboarding.errors import QueryInvalid

TODAY = date(2026, 12, 7)


def task(key: str, *, target: date, due: date, customer: str = "Acme") -> MemberTask:
    return MemberTask("p1", customer, "Payroll", key, key.title(), "Kickoff", "csm", "pending", due, target)


def test_my_tasks_groups_by_the_day_expected_and_the_day_projected() -> None:
    tasks = [
        task("late", target=date(2026, 12, 4), due=TODAY),  # expected Friday, projected today: overdue
        task("today", target=TODAY, due=TODAY),
        task("later", target=date(2026, 12, 8), due=date(2026, 12, 9)),
        task("earlier_late", target=date(2026, 12, 1), due=date(2026, 12, 10)),
    ]
    grouped = group_my_tasks(tasks, today=TODAY, total=10)
    assert [t.task_key for t in grouped.overdue] == ["earlier_late", "late"]
    assert [t.task_key for t in grouped.today] == ["today"]
    assert [t.task_key for t in grouped.next] == ["later"]
    assert grouped.more == 6
    assert grouped.overdue[0].due(TODAY) == date(2026, 12, 1)  # shown with the day it was expected
    assert grouped.next[0].due(TODAY) == date(2026, 12, 9)  # and the rest with the day projected
    assert group_my_tasks([], today=TODAY, total=0).empty


def _row(customer: str, go_live: date | None) -> PortfolioRow:
    return PortfolioRow(
        "p1", None, customer, None, "payroll", "Payroll", ProjectState.active, None, TODAY, None, go_live
    )


def test_a_cursor_holds_a_place_in_its_own_order_only() -> None:
    for sort in PortfolioSort:
        for go_live in (date(2027, 1, 4), None):
            row = _row("Acme", go_live)
            assert read_cursor(cursor_after(row, sort), sort) == (row.sort_value(sort), "p1")
    customer_cursor = cursor_after(_row("Acme", None), PortfolioSort.customer)
    with pytest.raises(QueryInvalid) as refused:
        read_cursor(customer_cursor, PortfolioSort.kickoff)
    assert refused.value.codes == ["invalid-cursor"]
    for bad in ("", "x", "bm90LWpzb24", customer_cursor[:-3]):
        with pytest.raises(QueryInvalid):
            read_cursor(bad, PortfolioSort.customer)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("Acme", "Acme"),
        (None, ""),
        (True, "yes"),
        (date(2027, 1, 4), "2027-01-04"),
    ],
)
def test_csv_cells_never_run_as_formulas(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_secrets_are_kept_as_digests_and_csrf_tokens_follow_the_secret() -> None:
    assert digest("a") == hashlib.sha256(b"a").hexdigest() != digest("b")
    assert csrf_matches("secret", csrf_token("secret"))
    assert not csrf_matches("secret", csrf_token("other"))
    assert not csrf_matches("secret", "")
