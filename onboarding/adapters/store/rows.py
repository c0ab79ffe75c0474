"""Reading rows: many at once as the driver's own tuples, dates as each driver gives them, instants in UTC.

At a hundred thousand rows and more, SQLAlchemy's result objects cost more than
the reads themselves; the sweep's nudge decision and the portfolio report read
their rows straight from the driver's cursor (the statements are still built and
compiled by SQLAlchemy). A batch's list of ids is asked as one array parameter on
PostgreSQL (``among``): the same statement whatever the list, not one to parse and
plan anew for each list's length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, CompoundSelect, Connection, Engine, Select, any_, bindparam

from onboarding.core.customer_calendar import CustomerCalendar


def driver_rows(connection: Connection, query: Select[Any] | CompoundSelect[Any]) -> list[Any]:
    """The query's rows as the driver's own tuples (its values as the driver reads them: see ``day_reader``)."""
    return list(connection.execute(query).cursor.fetchall())


def day_reader(engine: Engine) -> Callable[[Any], date]:
    """A date column's value as read from the driver: SQLite gives its ISO text, PostgreSQL a date."""
    if engine.dialect.name == "sqlite":
        return date.fromisoformat
    return lambda value: value


def utc_instant(value: datetime) -> datetime:
    """An instant read back from the store: SQLite hands instants back without a zone; they are stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def customer_calendar_of(
    country: str | None, subdivision: str | None, closed_days: str | None, time_zone: str | None
) -> CustomerCalendar | None:
    """A project's own customer calendar from its four columns (all null: none, the blueprint's)."""
    if country is None and subdivision is None and not closed_days and time_zone is None:
        return None
    days = tuple(date.fromisoformat(d) for d in closed_days.split(",")) if closed_days else ()
    return CustomerCalendar(country, subdivision, days, time_zone)


def among(connection: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``, for a list of a batch's ids: on PostgreSQL one array parameter (``= ANY``), so that the
    statement's text is the same whatever the list. A placeholder a value made SQLAlchemy render each one, and
    the driver parse the statement anew each time (it keeps only statements of a few parameters parsed)."""
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
