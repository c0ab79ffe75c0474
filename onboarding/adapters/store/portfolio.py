"""The portfolio's pages in the SQL store: filtered, sorted by one column, found by keyset (``core/portfolio_page``).

Each sort column has an index with the project id after it (0024), so a page is the
next ``limit`` entries of an index from a place, however deep: no offset, no sort of
the portfolio. Projects without a value in the sort column come after the rest, as a
second query in id order. The filters are the project list's (``sql._matching``: state,
blueprint, segment, customer, at risk) with the owner (the person bound to the owner
role) and the window jump.

Not here: the cursor and the CSV rows (``core/portfolio_page``), the page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, exists, func, literal, select, tuple_
from sqlalchemy.orm import aliased

from onboarding.adapters.store.sql import _matching as project_filters
from onboarding.adapters.store.tables import BindingRow, ProjectRow
from onboarding.core.lifecycle import ProjectState
from onboarding.core.portfolio_page import Place, PortfolioFilter, PortfolioRow, PortfolioSort
from onboarding.core.ttfv import OWNER_ROLE
from onboarding.services.ports import ProjectQuery

projects = ProjectRow.__table__
bindings = BindingRow.__table__
owners = aliased(BindingRow, name="owners")

_SORT_COLUMN = {
    PortfolioSort.customer: projects.c.customer,
    PortfolioSort.kickoff: projects.c.kickoff_on,
    PortfolioSort.go_live: projects.c.projected_go_live_on,
    PortfolioSort.committed: projects.c.committed_go_live_on,
}


def _conditions(filters: PortfolioFilter, *, today: date) -> list[ColumnElement[bool]]:
    where = project_filters(
        ProjectQuery(
            state=filters.state.value if filters.state else None,
            blueprint=filters.blueprint,
            segment=filters.segment,
            customer=filters.customer,
            at_risk_on=today if filters.at_risk else None,
        )
    )
    if filters.owner:
        owner = filters.owner.strip()
        if "@" in owner:  # an address: the owner's projects from the bindings by email (ix_bindings_email)
            where.append(
                projects.c.id.in_(
                    select(bindings.c.project_id).where(
                        bindings.c.email.in_(sorted({owner, owner.lower()})), bindings.c.role == OWNER_ROLE
                    )
                )
            )
        else:
            where.append(
                exists().where(
                    bindings.c.project_id == projects.c.id, bindings.c.role == OWNER_ROLE, bindings.c.name == owner
                )
            )
    if filters.window_jumped:
        where.append(projects.c.projected_go_live_on > projects.c.committed_go_live_on)
    return where


class SqlPortfolioStore:
    """The real ``PortfolioStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _select(self) -> Select[Any]:
        return select(
            projects.c.id,
            projects.c.external_id,
            projects.c.customer,
            projects.c.segment,
            projects.c.blueprint_key,
            projects.c.blueprint_title,
            projects.c.state,
            owners.name,
            projects.c.kickoff_on,
            projects.c.committed_go_live_on,
            projects.c.projected_go_live_on,
        ).outerjoin(owners, and_(owners.project_id == projects.c.id, owners.role == OWNER_ROLE))

    def portfolio_rows(
        self,
        filters: PortfolioFilter,
        *,
        today: date,
        sort: PortfolioSort,
        descending: bool,
        after: Place | None,
        limit: int,
    ) -> list[PortfolioRow]:
        """Up to ``limit`` matching projects in the sort order, those after ``after`` only."""
        column = _SORT_COLUMN[sort]
        where = _conditions(filters, today=today)
        found: list[Any] = []
        with self.engine.connect() as connection:
            if after is None or after[0] is not None:
                query = self._select().where(*where, column.is_not(None))
                if after is not None:  # a row value: one range of the (column, id) index
                    place, last = tuple_(column, projects.c.id), tuple_(literal(after[0]), literal(after[1]))
                    query = query.where(place < last if descending else place > last)
                order = (column.desc(), projects.c.id.desc()) if descending else (column, projects.c.id)
                found += connection.execute(query.order_by(*order).limit(limit)).all()
            if len(found) < limit:
                query = self._select().where(*where, column.is_(None))
                if after is not None and after[0] is None:
                    query = query.where(projects.c.id < after[1] if descending else projects.c.id > after[1])
                order_id = projects.c.id.desc() if descending else projects.c.id
                found += connection.execute(query.order_by(order_id).limit(limit - len(found))).all()
        return [
            PortfolioRow(
                id=r[0],
                external_id=r[1],
                customer=r[2],
                segment=r[3],
                blueprint_key=r[4],
                blueprint_title=r[5],
                state=ProjectState(r[6]),
                owner=r[7],
                kickoff_on=r[8],
                committed_go_live_on=r[9],
                projected_go_live_on=r[10],
            )
            for r in found
        ]

    def portfolio_count(self, filters: PortfolioFilter, *, today: date, most: int) -> int:
        """How many projects match, counted up to ``most`` (a count stops there: ``most`` means at least)."""
        matching = select(projects.c.id).where(*_conditions(filters, today=today)).limit(most).subquery()
        query = select(func.count()).select_from(matching)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def portfolio_choices(self) -> tuple[list[tuple[str, str]], list[str]]:
        """The blueprints (key, title) and segments of the portfolio's projects, to filter by."""
        with self.engine.connect() as connection:
            keys = connection.execute(select(projects.c.blueprint_key).distinct().order_by(projects.c.blueprint_key))
            blueprints = []
            for (key,) in keys.all():
                title = connection.execute(
                    select(projects.c.blueprint_title).where(projects.c.blueprint_key == key).limit(1)
                ).scalar_one()
                blueprints.append((key, title))
            segments = connection.execute(
                select(projects.c.segment)
                .where(projects.c.segment.is_not(None))
                .distinct()
                .order_by(projects.c.segment)
            ).scalars()
            return blueprints, list(segments)
