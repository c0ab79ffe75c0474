"""Settings from the environment (prefix ONBOARDING_), parsed once at the edge."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from onboarding.core.addresses import canonical_address, mailbox_list, name_problem
from onboarding.errors import AddressInvalid, Problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARDING_", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite database and the Maildir live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data folder. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    sweep_workers: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="Batches of a sweep worked at once, each over its own database connection: by `onboarding "
        "sweep` in processes of their own, by a Prefect flow run in threads; default: 2 (on one core, or in threads "
        "on SQLite, 1).",
    )
    max_blueprint_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest blueprint file read.")
    sender_name: str = "Onboarding"
    sender_email: str = "onboarding@localhost"
    mail_domain: str = Field(default="onboarding.localhost", description="Right-hand side of Message-IDs.")
    unsubscribe_url: str = Field(
        default="http://localhost:8080/unsubscribe",
        description="Base of unsubscribe links: the /unsubscribe page of `onboarding web` as customers reach it "
        "(https in production: mail providers honour one-click unsubscribe only over https).",
    )
    public_url: str | None = Field(
        default=None,
        description="Where people reach the pages of `onboarding web` (the base of the links in emails: status "
        "pages, actions, calendar feeds, sign-in); default: the unsubscribe URL without its /unsubscribe.",
    )
    team_session_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 30,
        description="How long a team member stays signed in to the team's pages after using a sign-in link.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs unsubscribe and customer links; default: a random key made once in the data folder "
        "(file secret_key). Set it when several machines send emails.",
    )
    frame_ancestors: str = Field(
        default="'none'",
        description="Who may show the customer status pages in a frame (CSP frame-ancestors): 'none', 'self', or "
        "space-separated https origins of the vendor's customer portal, e.g. https://portal.example.com",
    )
    maildir: Path | None = Field(default=None, description="Maildir folder (default: the data folder's maildir/).")
    smtp_host: str | None = Field(default=None, description="Deliver by SMTP instead of to the Maildir.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description="Longest wait for the SMTP server on one message, connecting included.",
    )
    smtp_connections: int = Field(
        default=4,
        ge=1,
        le=32,
        description="SMTP connections a delivery uses at once, each taking its own batches (the server's replies "
        "are waited for side by side); 1 sends one message after another.",
    )
    delivery_retry_horizon_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long after it was queued a message keeps being retried after temporary failures "
        "(server down, 4xx); a temporary failure after that holds it for `onboarding outbox retry`.",
    )
    delivery_backoff_cap_minutes: float = Field(
        default=60.0, gt=0, description="Longest wait between two tries of a message (1, 2, 4 ... minutes, capped)."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        lt=600,
        description="Longest wait for a webhook endpoint to answer one POST (less when the delivery deadline is "
        "nearer).",
    )
    delivery_deadline_seconds: float = Field(
        default=300.0,
        gt=0,
        lt=600,  # below the 10-minute claim lease: a run still at work is never taken for a dead one
        description="Real time a sweep's delivery may take (under 600, the claim lease); what is left waits for the "
        "next sweep.",
    )

    @field_validator("sender_email")
    @classmethod
    def _sender_address(cls, value: str) -> str:
        return _address_setting("ONBOARDING_SENDER_EMAIL", value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_url(cls, value: str) -> str:
        return _http_url(
            value, "where they reach the unsubscribe page, e.g. https://onboarding.example.com/unsubscribe"
        )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = _http_url(value, "where they reach `onboarding web`, e.g. https://onboarding.example.com")
        if urlsplit(url).query:
            raise ValueError("has a query; write only the scheme, host and path, e.g. https://onboarding.example.com")
        return url.rstrip("/")

    @field_validator("frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        sources = value.split()
        if not sources:
            return "'none'"
        if sources == ["'none'"]:
            return value.strip()
        for source in sources:
            if source == "'self'":
                continue
            url = urlsplit(source)
            if source == "'none'" or url.scheme not in ("https", "http") or not url.netloc or url.path not in ("", "/"):
                raise ValueError(
                    f"{source!r} is not a frame source: give 'none', 'self' or origins such as "
                    "https://portal.example.com (scheme and host only), separated by spaces"
                )
            if any(c in source for c in ";,'\"") or url.query or url.fragment:
                raise ValueError(
                    f"{source!r} is not a frame source: scheme and host only, e.g. https://portal.example.com"
                )
        return " ".join(s.rstrip("/") for s in sources)

    @property
    def effective_public_url(self) -> str:
        """The base of page links in emails: the ``public_url``, or the unsubscribe URL's without /unsubscribe."""
        if self.public_url:
            return self.public_url
        url = urlsplit(self.unsubscribe_url)
        path = url.path.rstrip("/")
        path = path.removesuffix("/unsubscribe")
        return f"{url.scheme}://{url.netloc}{path}"

    @model_validator(mode="after")
    def _smtp_login(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "ONBOARDING_SMTP_USERNAME and ONBOARDING_SMTP_PASSWORD: an SMTP login needs both; give both, or "
                "neither to send without one"
            )
        return self

    @field_validator("sender_name")
    @classmethod
    def _sender_name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem is not None:
            raise ValueError(f"{problem[0]}, {problem[1]} [invalid-name]")
        return value.strip(" ")

    @property
    def effective_maildir(self) -> Path:
        return self.maildir or self.data_dir / "maildir"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'onboarding.db').resolve()}"

    # -- the weekly report (onboarding_flows/report.py) --------------------------------------

    managers: str = Field(
        default="",
        description="Who gets the weekly report: 'Name <email>, Name <email>' (quote a name that has a comma).",
    )

    @field_validator("managers")
    @classmethod
    def _managers_readable(cls, value: str) -> str:
        manager_addresses(value)
        return value

    @property
    def manager_addresses(self) -> tuple[tuple[str, str], ...]:
        """The managers as (name, email) pairs, in the order given."""
        return manager_addresses(self.managers)


def _http_url(value: str, example: str) -> str:
    url = urlsplit(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname or url.fragment or any(c in value for c in " <>\"'"):
        raise ValueError(f"not an http(s) URL people can open; write {example}")
    return value.strip()


_SECRET = frozenset({"secret_key", "smtp_password"})


def settings_problems() -> list[str]:
    """What is wrong with the settings in the environment, one line per variable (empty: nothing)."""
    try:
        Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            variable = "ONBOARDING_" + "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            if message.startswith(variable):
                pass
            elif error["loc"][0] in _SECRET:  # never echo a secret
                message = f"{variable}: {message.replace('items', 'characters')}"
            else:
                message = f"{variable}={error['input']!r}: {message}"
            lines.append(f"{message} (fix or unset that environment variable)")
        return lines
    return []


def manager_addresses(text: str) -> tuple[tuple[str, str], ...]:
    """``Name <email>, Name <email>`` as (name, email) pairs, by the engine's address rule (``core/addresses``);
    raises ValueError naming every entry that cannot be used."""
    try:
        return mailbox_list(text, source="ONBOARDING_MANAGERS")
    except AddressInvalid as error:
        raise ValueError(
            "ONBOARDING_MANAGERS: "
            + "; ".join(_entry_problem(problem) for problem in error.problems)
            + "; write the managers as 'Name <name@example.com>, Name <name@example.com>'"
        ) from None


def _entry_problem(problem: Problem) -> str:
    where = f"entry {int(problem.loc[0]) + 1}: " if problem.loc else ""
    return f"{where}{problem.message}, {problem.hint} [{problem.code}]"


def _address_setting(variable: str, value: str) -> str:
    try:
        return canonical_address(value, source=variable)
    except AddressInvalid as error:
        raise ValueError("; ".join(_entry_problem(problem) for problem in error.problems)) from None
