"""Team members, their sign-in links and sessions in the SQL store (``team_members``, ``team_sign_in_links``,
``team_sessions``): only digests of tokens and session secrets are kept.

Not here: the rules (lifetimes, roles: ``core/team_members``), deciding who may sign in (``services/team_members``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import outbox_values, writing
from onboarding.adapters.store.tables import Base, TeamMemberRow, TeamSessionRow, TeamSignInLinkRow
from onboarding.core.lifecycle import OPEN, ProjectState
from onboarding.core.messages import OutgoingMessage
from onboarding.core.team_members import MemberTask, SignInLink, TeamMember, TeamRole, TeamSession

members = Base.metadata.tables[TeamMemberRow.__tablename__]
links = Base.metadata.tables[TeamSignInLinkRow.__tablename__]
sessions = Base.metadata.tables[TeamSessionRow.__tablename__]
outbox = Base.metadata.tables["outbox"]
bindings = Base.metadata.tables["bindings"]
tasks = Base.metadata.tables["tasks"]
projects = Base.metadata.tables["projects"]
_OPEN = sorted(s.value for s in OPEN)


def _instant(value: datetime | None) -> datetime | None:
    return utc_instant(value) if value is not None else None


def _member(row: Any) -> TeamMember:
    return TeamMember(
        name=row.name,
        email=row.email,
        role=TeamRole(row.role),
        added_at=utc_instant(row.added_at),
        added_by=row.added_by,
        removed_at=_instant(row.removed_at),
    )


def _session_values(session: TeamSession) -> dict[str, Any]:
    return {
        "secret_digest": session.secret_digest,
        "email": session.email,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "ended_at": session.ended_at,
    }


class SqlTeamMemberStore:
    """The real ``TeamMemberStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def members(self, *, include_removed: bool = False) -> list[TeamMember]:
        query = select(members).order_by(members.c.name, members.c.email)
        if not include_removed:
            query = query.where(members.c.removed_at.is_(None))
        with self.engine.connect() as connection:
            return [_member(r) for r in connection.execute(query)]

    def member(self, email: str) -> TeamMember | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(members).where(members.c.email == email)).first()
        return _member(row) if row is not None else None

    def save_member(self, member: TeamMember) -> None:
        values = {
            "name": member.name,
            "role": member.role.value,
            "added_at": member.added_at,
            "added_by": member.added_by,
            "removed_at": member.removed_at,
        }
        with writing(self.engine) as connection:
            changed = connection.execute(update(members).where(members.c.email == member.email).values(values))
            if changed.rowcount == 0:
                connection.execute(insert(members).values(email=member.email, **values))

    def remove_member(self, email: str, *, at: datetime) -> bool:
        with writing(self.engine) as connection:
            removed = connection.execute(
                update(members).where(members.c.email == email, members.c.removed_at.is_(None)).values(removed_at=at)
            )
            if removed.rowcount == 0:
                return False
            connection.execute(
                update(sessions).where(sessions.c.email == email, sessions.c.ended_at.is_(None)).values(ended_at=at)
            )
            return True

    def add_sign_in_link(self, link: SignInLink, message: OutgoingMessage) -> None:
        with writing(self.engine) as connection:
            connection.execute(
                insert(links).values(
                    token_digest=link.token_digest,
                    email=link.email,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    used_at=link.used_at,
                )
            )
            connection.execute(insert(outbox).values(outbox_values(message, link.created_at)))

    def sign_in_link(self, token_digest: str) -> SignInLink | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(links).where(links.c.token_digest == token_digest)).first()
        if row is None:
            return None
        return SignInLink(
            token_digest=row.token_digest,
            email=row.email,
            created_at=utc_instant(row.created_at),
            expires_at=utc_instant(row.expires_at),
            used_at=_instant(row.used_at),
        )

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        query = select(func.count()).where(links.c.email == email, links.c.created_at > since)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def use_sign_in_link(self, token_digest: str, session: TeamSession) -> bool:
        with writing(self.engine) as connection:
            used = connection.execute(
                update(links)
                .where(links.c.token_digest == token_digest, links.c.used_at.is_(None))
                .values(used_at=session.created_at)
            )
            if used.rowcount != 1:
                return False
            connection.execute(insert(sessions).values(_session_values(session)))
            return True

    def start_session(self, session: TeamSession) -> None:
        with writing(self.engine) as connection:
            connection.execute(insert(sessions).values(_session_values(session)))

    def session(self, secret_digest: str) -> TeamSession | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(sessions).where(sessions.c.secret_digest == secret_digest)).first()
        if row is None:
            return None
        return TeamSession(
            secret_digest=row.secret_digest,
            email=row.email,
            created_at=utc_instant(row.created_at),
            expires_at=utc_instant(row.expires_at),
            ended_at=_instant(row.ended_at),
        )

    def end_session(self, secret_digest: str, *, at: datetime) -> None:
        with writing(self.engine) as connection:
            connection.execute(
                update(sessions)
                .where(sessions.c.secret_digest == secret_digest, sessions.c.ended_at.is_(None))
                .values(ended_at=at)
            )

    def forget_ended(self, before: datetime) -> int:
        with writing(self.engine) as connection:
            links_gone = connection.execute(delete(links).where(links.c.expires_at < before)).rowcount
            sessions_gone = connection.execute(
                delete(sessions).where(or_(sessions.c.expires_at < before, sessions.c.ended_at < before))
            ).rowcount
        return int(links_gone) + int(sessions_gone)

    def open_tasks_of(self, email: str, *, limit: int) -> tuple[list[MemberTask], int]:
        """The open tasks of the roles bound to ``email`` in active projects, the ``limit`` expected soonest, and
        how many there are in all. From the person's bindings (``ix_bindings_email``) to each project's tasks:
        the projects the person has no role in are never read."""
        joined = bindings.join(
            tasks, and_(tasks.c.project_id == bindings.c.project_id, tasks.c.owner_role == bindings.c.role)
        ).join(projects, projects.c.id == bindings.c.project_id)
        where = (
            bindings.c.email == email,
            tasks.c.state.in_(_OPEN),
            projects.c.state == ProjectState.active.value,
        )
        query = (
            select(
                projects.c.id,
                projects.c.customer,
                projects.c.blueprint_title,
                tasks.c.key,
                tasks.c.title,
                tasks.c.milestone_title,
                tasks.c.owner_role,
                tasks.c.state,
                tasks.c.due_on,
                tasks.c.target_due_on,
            )
            .select_from(joined)
            .where(*where)
            .order_by(tasks.c.target_due_on, tasks.c.due_on, projects.c.id, tasks.c.position)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            total = len(rows)
            if total == limit:
                total = int(connection.execute(select(func.count()).select_from(joined).where(*where)).scalar_one())
        return [
            MemberTask(
                project_id=r[0],
                customer=r[1],
                blueprint_title=r[2],
                task_key=r[3],
                title=r[4],
                milestone_title=r[5],
                role=r[6],
                state=r[7],
                due_on=r[8],
                target_due_on=r[9],
            )
            for r in rows
        ], total
