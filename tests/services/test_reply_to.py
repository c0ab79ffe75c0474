"""Who emails come from: replies to nudges and status emails reach the project's contact, who is named.

The contact is the person bound to the blueprint's ``contact`` role, else its
``csm``; only a blueprint with neither leaves replies with the engine's sender.
A task's description (what is to be done) is in the emails that ask for it. On
the in-memory twins, SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.errors import BlueprintInvalid
from tests.services import test_sweep
from tests.services.test_projects import PAYROLL
from tests.services.test_sweep import D, Stores, World

stores = test_sweep.stores  # the fixture: the in-memory twins, or the SQL stores on SQLite and PostgreSQL


def parsed(message: object) -> EmailMessage:
    return email.message_from_bytes(bytes(message), policy=email.policy.default)  # type: ignore[call-overload,no-any-return]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def nudged_on_thursday(world: World) -> None:
    world.launch()
    world.sweep.run()
    # Thursday 12-10, noon in Chicago: the sponsor's scope sign-off (due Wed 12-09) is a day overdue
    world.clock.set(D("2026-12-10"), at=datetime(2026, 12, 10, 18, 0, tzinfo=UTC))
    world.sweep.run()


def test_a_customer_nudge_replies_to_the_csm_who_is_named_and_says_what_to_do(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    nudged_on_thursday(world)
    (digest,) = [parsed(m) for m in world.mail_to("alex@acme.example", "digest")]
    assert [a.addr_spec for a in digest["Reply-To"].addresses] == ["dana@vendor.example"]  # not the engine's sender
    assert digest["Reply-To"].addresses[0].display_name == "Dana Ruiz"
    said = text_of(digest)
    assert "just reply to this email: it reaches Dana Ruiz, Customer success manager <dana@vendor.example>" in said
    assert "What to do: Read the scope document your customer success manager sent" in said


def test_status_and_kickoff_emails_reply_to_the_named_csm(stores: Stores, tmp_path: Path) -> None:
    world = World(stores, tmp_path)
    world.launch()
    world.sweep.run()
    (kickoff,) = [parsed(m) for m in world.mail_to("lee@acme.example", "kickoff")]
    assert str(kickoff["Reply-To"]) == "Dana Ruiz <dana@vendor.example>"
    said = text_of(kickoff)
    assert "it reaches Dana Ruiz, Customer success manager <dana@vendor.example>" in said
    assert "What to do: Tell your current payroll provider in writing" in said


def test_the_blueprint_can_name_another_contact_role(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = tmp_path / "payroll-contact.yaml"
    blueprint.write_text(Path(PAYROLL).read_text(encoding="utf-8") + "\ncontact: implementation_manager\n", "utf-8")
    monkeypatch.setattr(test_sweep, "PAYROLL", str(blueprint))  # what World.launch launches
    world = World(stores, tmp_path)
    nudged_on_thursday(world)
    (digest,) = [parsed(m) for m in world.mail_to("alex@acme.example", "digest")]
    assert str(digest["Reply-To"]) == "Sam Okafor <sam@vendor.example>"
    assert "it reaches Sam Okafor, Implementation manager <sam@vendor.example>" in text_of(digest)


@pytest.mark.parametrize(("role", "code"), [("csn", "unknown-role"), ("customer_sponsor", "invalid-value")])
def test_the_contact_role_must_be_a_declared_vendor_role(tmp_path: Path, role: str, code: str) -> None:
    blueprint = tmp_path / "bad-contact.yaml"
    blueprint.write_text(Path(PAYROLL).read_text(encoding="utf-8") + f"\ncontact: {role}\n", "utf-8")
    with pytest.raises(BlueprintInvalid) as refused:
        FileBlueprints().load(str(blueprint))
    assert refused.value.codes == [code]
    assert refused.value.problems[0].line is not None
