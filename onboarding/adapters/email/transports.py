"""Transports: delivering rendered emails to a Maildir folder, an SMTP server, or memory.

Every transport has ``deliver(raw, *, message_key, recipients, timeout_seconds=None)``,
``settle()`` (what was staged is delivered: a Maildir's batch; nothing to do for the
others, whose ``settles_later`` is false) and ``close()`` (the end of a run of
deliveries), and says how a delivery failed with one of two exceptions:

    services.ports.DeliveryError (Exception)      ``.detail``; ``.code``: the SMTP reply, if any
    └── DeliveryError                             + ``.reason`` (stable), ``.refused``, ``.accepted``
        ├── TemporaryDeliveryError  (also ports.TemporaryDeliveryError)  try again later
        └── PermanentDeliveryError  (also ports.PermanentDeliveryError)  the server refused it

Permanent means the server answered 5xx to this message's own commands (MAIL FROM,
RCPT TO, DATA). Everything about reaching or using the server is temporary:
connection refused, reset or timed out, 4xx replies, and configuration mismatches
such as STARTTLS asked for but not offered or a rejected login. Those are fixed on
the server or in the settings, after which the queued message should still go out,
so they must not mark it failed for good. When some recipients are refused and
others accepted, the message has gone to the accepted ones: the error lists both
(``.refused`` with each reply, ``.accepted``), and a retry should name only
``.retry_recipients``. An error marked ``.unavailable`` is about the server (or
the folder), not this message: the next messages would fail the same way, so the
dispatcher puts them back untried.

The dispatcher catches the ports' classes, which these extend. They are
infrastructure errors, not ``OnboardingError``s: they say nothing the user did wrong.

- ``MaildirTransport`` writes each message once: its file name comes from the key,
  it is written in ``tmp/``, flushed to disk and hard-linked into ``new/`` (atomic;
  it cannot overwrite), so a crash leaves either no message or the whole message,
  and a redelivery after a crash finds the first copy and does nothing. Batched, it
  settles later (the ports' ``Transport``): ``deliver`` writes in ``tmp/``, and
  ``settle`` flushes a whole batch's files at once, links them and flushes ``new/``.
- ``SmtpTransport`` uses smtplib, one connection reused across the deliveries of a
  run until ``close()`` (not thread-safe: one transport per worker); each delivery
  takes at most its ``timeout_seconds`` (or the transport's), connecting included.
- ``RecordingTransport`` keeps what it was given, for service tests, and fails on
  request.

Not here: rendering (``rendering``), retry policy and the outbox (services, store).
"""

from __future__ import annotations

import contextlib
import ctypes
import email
import email.policy
import os
import re
import smtplib
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from onboarding.adapters.email.rendering import key_digest
from onboarding.services import ports

_LINE_END = re.compile(rb"\r?\n")


class DeliveryError(ports.DeliveryError):
    """A delivery failure as a transport reports it.

    ``detail`` says what happened, ``code`` is the SMTP reply code when there was one
    (both from the services' ``DeliveryError``); ``reason`` is a stable identifier
    (``smtp-deferred``, ``starttls-unavailable``...), ``refused`` the recipients the
    server refused with its reply to each, ``accepted`` those it took.
    """

    def __init__(
        self,
        detail: str,
        *,
        reason: str,
        code: int | None = None,
        refused: Mapping[str, tuple[int, str]] | None = None,
        accepted: Sequence[str] = (),
    ) -> None:
        super().__init__(detail, code=code, unavailable=reason in _SERVER_REASONS or code == 421)
        self.reason = reason
        self.refused: dict[str, tuple[int, str]] = dict(refused or {})
        self.accepted: tuple[str, ...] = tuple(accepted)

    @property
    def retry_recipients(self) -> tuple[str, ...]:
        """The refused recipients worth another try (a 4xx reply); empty when none were refused one by one."""
        return tuple(address for address, (reply, _) in self.refused.items() if 400 <= reply < 500)


# Failures of the server or the folder, not of one message (421: the server is closing the connection).
_SERVER_REASONS = frozenset(
    {
        "maildir-write-failed",
        "smtp-unavailable",
        "smtp-unreachable",
        "smtp-not-supported",
        "starttls-unavailable",
        "smtp-login-failed",
        "smtp-error",
    }
)


class TemporaryDeliveryError(DeliveryError, ports.TemporaryDeliveryError):
    """Try again later (connection failures, timeouts, 4xx replies, server-side configuration)."""


class PermanentDeliveryError(DeliveryError, ports.PermanentDeliveryError):
    """The server refused this message for good (5xx to its sender, recipients or content)."""


# -- Maildir ------------------------------------------------------------------


class MaildirTransport:
    """Delivers into a Maildir folder (created with cur/, new/ and tmp/ when missing).

    A message's file is named after its key (``<key digest>.onboarding``), so
    delivering the same key again, after a crash or a retry, leaves the one message
    there. Messages a mail client has since moved to ``cur/`` are recognised too.
    Files are stored with LF line ends, the local convention of Maildir readers.
    The recipients are not used: a Maildir is one mailbox that holds every message.

    Each ``deliver`` writes its message durably (two flushes to disk a message).
    ``batched=True`` (``settles_later``; what the dispatcher is given) makes
    ``deliver`` only write the file in ``tmp/``, and ``settle`` deliver everything
    written since the last one: one flush of the files to disk (``syncfs`` on
    Linux, else each file flushed as it is written), each file hard-linked into
    ``new/``, one flush of ``new/``. A crash before the settle leaves no message in
    ``new/`` (only stray files in ``tmp/``); one after it leaves whole messages,
    which a redelivery finds and does not write again. ``syncfs`` flushes whatever
    else is waiting to be written on that file system too; measured here, a batch of
    200 took 8 to 11 ms with it against 43 to 53 ms flushing each file.
    ``fsync=False`` skips the flushes to disk (faster, for throwaway folders).
    """

    SUFFIX = ".onboarding"

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True, batched: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.settles_later = batched
        # the folder with cur/, new/, tmp/ when it is missing: each made unless there (another process may be
        # making them at the same moment; mailbox.Maildir's own creation fails when it loses that race)
        self.path.mkdir(mode=0o700, exist_ok=True)
        self._new = self.path / "new"
        self._cur = self.path / "cur"
        self._tmp = self.path / "tmp"
        for folder in (self._new, self._cur, self._tmp):  # an existing, empty folder becomes a Maildir too
            folder.mkdir(mode=0o700, exist_ok=True)
        self._new_prefix = f"{self._new}{os.sep}"  # the per-message paths as plain strings (no Path objects)
        self._tmp_prefix = f"{self._tmp}{os.sep}"
        self._known: set[str] | None = None  # unique names already in new/ or cur/, read on first delivery
        self._staged: dict[str, str] = {}  # name in new/ -> its file written in tmp/, until the next settle
        self._watch: int | None = None  # tmp/ opened before the first staged write: syncfs reports errors since

    def close(self) -> None:
        """Discard what was staged and never settled (none of it was delivered)."""
        staged, self._staged = self._staged, {}
        for temporary in staged.values():
            _remove(temporary)
        self._unwatch()

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        name = key_digest(message_key) + self.SUFFIX
        try:
            if name in self._staged or self._delivered(name):
                return
            flushed_at_settle = self.settles_later and self.fsync and _SYNCFS is not None
            if flushed_at_settle and self._watch is None:
                self._watch = os.open(self._tmp, os.O_RDONLY)
            temporary = self._write(raw, name, flush=self.fsync and not flushed_at_settle)
            if self.settles_later:
                self._staged[name] = temporary
                return
            self._link({name: temporary})
        except OSError as error:
            raise self._failure(error) from error

    def settle(self) -> None:
        staged, self._staged = self._staged, {}
        try:
            if staged and self._watch is not None and _SYNCFS is not None:
                _SYNCFS(self._watch)  # every file written since tmp/ was opened, in one flush
            self._link(staged)
        except OSError as error:
            for temporary in staged.values():
                _remove(temporary)
            raise self._failure(error) from error
        finally:
            self._unwatch()

    def _write(self, raw: bytes, name: str, *, flush: bool) -> str:
        """The message written to a new file in tmp/ (with local line ends), flushed to disk when asked; its path.

        Written through the descriptor itself: a file object would cost a few more system calls a message (its
        buffer's size, a terminal check, a seek) for one write.
        """
        temporary = f"{self._tmp_prefix}{name}.{os.getpid()}.{os.urandom(6).hex()}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # as open(..., "xb")
        try:
            try:
                data = memoryview(raw.replace(b"\r\n", b"\n"))  # as _LINE_END.sub(b"\n", raw), without the regex
                while data:
                    data = data[os.write(descriptor, data) :]
                if flush:
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except BaseException:
            _remove(temporary)
            raise
        return temporary

    def _link(self, written: Mapping[str, str]) -> None:
        """Link files written (and flushed) in tmp/ into new/, then flush new/ once."""
        if not written:
            return
        try:
            for name, temporary in written.items():
                with contextlib.suppress(FileExistsError):  # delivered meanwhile by another process
                    os.link(temporary, self._new_prefix + name)  # atomic, and never replaces a delivered copy
        finally:
            for temporary in written.values():
                _remove(temporary)
        if self.fsync:
            _fsync_directory(self._new)
        if self._known is not None:
            self._known.update(written)

    def _unwatch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            os.close(watch)

    def _failure(self, error: OSError) -> TemporaryDeliveryError:
        return TemporaryDeliveryError(
            f"cannot write to the Maildir {self.path}: {error}", reason="maildir-write-failed"
        )

    def _delivered(self, name: str) -> bool:
        """Whether the folder held it when first read, or this transport has delivered it since. One that another
        process delivered meanwhile is written again in tmp/ and then not linked: new/ already has it."""
        if self._known is None:
            self._known = {entry.split(":", 1)[0] for folder in (self._new, self._cur) for entry in os.listdir(folder)}
        return name in self._known


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _filesystem_sync() -> Callable[[int], None] | None:
    """Linux's ``syncfs``: one call flushes every file of the file system an open descriptor is on, and (Linux 5.8
    on) reports a write that failed since that descriptor was opened; None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int

    def syncfs(descriptor: int) -> None:
        if function(descriptor) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"syncfs: {os.strerror(number)}")

    return syncfs


_SYNCFS = _filesystem_sync()


# -- SMTP ---------------------------------------------------------------------


class SmtpTransport:
    """Delivers over SMTP with smtplib: STARTTLS when asked (and then required), login when given.

    The envelope sender is ``envelope_from`` when given, else each message's From
    address. The connection is opened on the first delivery and reused; ``close()``
    (or leaving a ``with`` block) ends it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool,
        username: str | None,
        password: str | None,
        timeout_seconds: float,
        local_hostname: str | None,
        envelope_from: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("SMTP login needs both a username and a password")
        self.host = host
        self.port = port
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout_seconds = timeout_seconds
        self.local_hostname = local_hostname
        self.envelope_from = envelope_from
        self.tls_context = tls_context
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:  # a safety net for transports nobody closed: no socket left to the finaliser
        if getattr(self, "_connection", None) is not None:
            self._drop()

    settles_later = False  # a message the server accepted is delivered: it is recorded sent at once

    def settle(self) -> None:
        """Nothing is staged: each delivery that returned was accepted by the server."""

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open (errors on the way out are ignored)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        if not recipients:
            raise PermanentDeliveryError(f"message {message_key!r} names no recipients", reason="no-recipients")
        data = _LINE_END.sub(b"\r\n", raw)
        sender = self.envelope_from or _from_address(data)
        budget = self.timeout_seconds if timeout_seconds is None else min(self.timeout_seconds, timeout_seconds)
        ends = time.monotonic() + max(budget, _LEAST_TIMEOUT)
        try:
            refused = self._send(sender, list(recipients), data, ends=ends)
        except ValueError as error:  # an address smtplib will not write (a line break, not ASCII)
            self._drop()  # the transaction may be half open
            raise PermanentDeliveryError(
                f"message {message_key!r} cannot be sent to {', '.join(recipients)}: {error}",
                reason="unsendable-address",
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            replies = {address: (code, _text(reply)) for address, (code, reply) in error.recipients.items()}
            raise _refusal(message_key, replies, accepted=()) from error
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as error:  # the server, not this message
            self._drop()
            raise TemporaryDeliveryError(
                f"{self._where} answered {error.smtp_code} {_text(error.smtp_error)} before any message",
                code=error.smtp_code,
                reason="smtp-unavailable",
            ) from error
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, other replies
            if error.smtp_code == 421 or error.smtp_code < 400:  # smtplib reset the transaction (RSET) otherwise
                self._drop()
            raise _reply_error(error.smtp_code, _text(error.smtp_error), message_key, self._where) from error
        except smtplib.SMTPNotSupportedError as error:
            self._drop()
            raise TemporaryDeliveryError(
                f"{self._where} does not support what the settings ask: {error}", reason="smtp-not-supported"
            ) from error
        except (smtplib.SMTPServerDisconnected, OSError) as error:  # refused, reset, timeouts, TLS, DNS
            self._drop()
            raise TemporaryDeliveryError(
                f"cannot talk to {self._where}: {type(error).__name__}: {error}", reason="smtp-unreachable"
            ) from error
        except smtplib.SMTPException as error:
            self._drop()
            raise TemporaryDeliveryError(f"{self._where}: {error}", reason="smtp-error") from error
        if refused:
            replies = {address: (code, _text(reply)) for address, (code, reply) in refused.items()}
            accepted = tuple(address for address in recipients if address not in replies)
            raise _refusal(message_key, replies, accepted=accepted)

    @property
    def _where(self) -> str:
        return f"the SMTP server {self.host}:{self.port}"

    def _send(self, sender: str, recipients: list[str], data: bytes, *, ends: float) -> dict[str, tuple[int, bytes]]:
        """Send on the open connection, or a new one; a connection the server dropped since is replaced once."""
        reused = self._connection is not None
        try:
            return self._connect(ends=ends).sendmail(sender, recipients, data)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            if not reused or time.monotonic() >= ends:
                raise
        return self._connect(ends=ends).sendmail(sender, recipients, data)

    def _connect(self, *, ends: float) -> smtplib.SMTP:
        left = max(ends - time.monotonic(), _LEAST_TIMEOUT)
        if self._connection is not None:
            self._connection.timeout = left
            try:
                if self._connection.sock is not None:
                    self._connection.sock.settimeout(left)
                    return self._connection
            except OSError:  # a socket closed under it
                pass
            self._drop()
        connection = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=left)
        try:
            connection.ehlo()
            if self.starttls:
                if not connection.has_extn("starttls"):
                    raise TemporaryDeliveryError(
                        f"{self._where} does not offer STARTTLS, which the settings require;"
                        " nothing is sent in clear text (fix the server or set starttls off)",
                        reason="starttls-unavailable",
                    )
                connection.starttls(context=self.tls_context or ssl.create_default_context())
                connection.ehlo()
            if self.username is not None and self.password is not None:
                try:
                    connection.login(self.username, self.password)
                except smtplib.SMTPAuthenticationError as error:
                    raise TemporaryDeliveryError(
                        f"{self._where} refused the login of {self.username!r}:"
                        f" {error.smtp_code} {_text(error.smtp_error)} (check the SMTP username and password)",
                        code=error.smtp_code,
                        reason="smtp-login-failed",
                    ) from error
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _drop(self) -> None:
        """Forget the connection without a QUIT: after a failure its state is unknown."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


_LEAST_TIMEOUT = 0.05  # seconds: a socket timeout of 0 would make it non-blocking


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _reply_error(code: int, text: str, message_key: str, where: str) -> DeliveryError:
    detail = f"{where} answered {code} {text} for message {message_key!r}"
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, code=code, reason="smtp-rejected")
    return TemporaryDeliveryError(detail, code=code, reason="smtp-deferred")


def _refusal(message_key: str, replies: dict[str, tuple[int, str]], *, accepted: Sequence[str]) -> DeliveryError:
    listed = "; ".join(f"{address}: {code} {text}" for address, (code, text) in replies.items())
    sent = f" (sent to {', '.join(accepted)})" if accepted else ""
    detail = f"recipients refused for message {message_key!r}: {listed}{sent}"
    first = next(iter(replies.values()))[0]
    if any(400 <= code < 500 for code, _ in replies.values()):
        return TemporaryDeliveryError(
            detail, code=first, refused=replies, accepted=accepted, reason="recipients-deferred"
        )
    return PermanentDeliveryError(detail, code=first, refused=replies, accepted=accepted, reason="recipients-refused")


def _from_address(data: bytes) -> str:
    """The address of the message's From header (the envelope sender when none is configured)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    # the header with its continuation lines ("." would take the CR and let the unfolding stop there)
    match = re.search(rb"^From:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.MULTILINE | re.IGNORECASE)
    address = parseaddr(match.group(1).decode("ascii", "replace").replace("\r\n", ""))[1] if match else ""
    if not address:
        raise PermanentDeliveryError(
            "the message has no From address and no envelope sender is set", reason="no-sender"
        )
    return address


# -- in memory ----------------------------------------------------------------


@dataclass(frozen=True)
class DeliveredMessage:
    """One delivery a RecordingTransport accepted, with the message parsed back."""

    key: str
    recipients: tuple[str, ...]
    message: EmailMessage
    raw: bytes


class RecordingTransport:
    """The in-memory twin: keeps every delivery (repeats included) and fails on request.

    ``settles_later=True`` makes it stage deliveries as a Maildir does: they join
    ``delivered`` at ``settle`` (which ``fail_settle`` makes fail, dropping them),
    and ``close`` drops what was never settled.
    """

    def __init__(self, *, settles_later: bool = False) -> None:
        self.settles_later = settles_later
        self.delivered: list[DeliveredMessage] = []
        self.staged: list[DeliveredMessage] = []  # handed over, waiting for ``settle``
        self.attempts = 0
        self.settles = 0  # how many settles delivered something
        self.closed = 0  # how many runs of deliveries ended
        self._failures: list[DeliveryError] = []
        self._settle_failures: list[DeliveryError] = []

    def fail_next(
        self, count: int = 1, *, kind: Literal["temporary", "permanent", "unavailable"] = "temporary"
    ) -> None:
        """Make the next ``count`` deliveries fail (after any failures already queued); ``unavailable``: as a
        server that cannot be reached."""
        for _ in range(count):
            if kind == "temporary":
                self._failures.append(TemporaryDeliveryError("temporary failure (test)", reason="injected-temporary"))
            elif kind == "unavailable":
                self._failures.append(TemporaryDeliveryError("server unavailable (test)", reason="smtp-unreachable"))
            else:
                self._failures.append(
                    PermanentDeliveryError("permanent failure (test)", code=550, reason="injected-permanent")
                )

    def fail_settle(self) -> None:
        """Make the next settle fail as a folder that cannot be written (what was staged is not delivered)."""
        self._settle_failures.append(TemporaryDeliveryError("cannot flush (test)", reason="maildir-write-failed"))

    def close(self) -> None:
        self.closed += 1
        self.staged = []

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        self.attempts += 1
        if self._failures:
            raise self._failures.pop(0)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        delivery = DeliveredMessage(key=message_key, recipients=tuple(recipients), message=message, raw=raw)
        (self.staged if self.settles_later else self.delivered).append(delivery)

    def settle(self) -> None:
        staged, self.staged = self.staged, []
        if self._settle_failures:
            raise self._settle_failures.pop(0)
        if staged:
            self.delivered.extend(staged)
            self.settles += 1

    @property
    def keys(self) -> list[str]:
        """The keys delivered, in order (a key twice means a message was sent twice)."""
        return [delivery.key for delivery in self.delivered]
