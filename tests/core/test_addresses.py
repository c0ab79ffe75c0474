"""The one address rule (core/addresses): what it accepts, what it refuses and why, and the mailbox round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboarding.core.addresses import (
    ATEXT,
    MAX_REPLY_TO,
    address_problem,
    canonical_address,
    canonical_person,
    mailbox,
    mailbox_list,
    mailbox_text,
    parse_mailbox,
    person_problems,
    reply_to_text,
)
from onboarding.core.messages import Person
from onboarding.errors import AddressInvalid

# -- strategies shared with the rendering properties ------------------------------------

CONTROL = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=31),
    st.just("\x7f"),
    st.characters(min_codepoint=0x80, max_codepoint=0x9F),
    st.sampled_from(["\u2028", "\u2029"]),
)
_ATOM = st.text(alphabet="abcxyzABCXYZ0189" + ATEXT, min_size=1, max_size=12)
LOCAL = st.lists(_ATOM, min_size=1, max_size=3).map(".".join).filter(lambda local: len(local) <= 64)
_LABEL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?\Z")
_UNICODE_LABEL = st.sampled_from(["bücher", "münchen", "例え", "παράδειγμα", "faß", "straße", "ÉCOLE"])
DOMAIN = st.lists(st.one_of(_LABEL, _LABEL, _UNICODE_LABEL), min_size=1, max_size=3).map(".".join)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)
NAME = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)


def codes(error: pytest.ExceptionInfo[AddressInvalid]) -> list[str]:
    return error.value.codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dana@vendor.example", ("", "dana@vendor.example")),
        ("Dana Ruiz <dana@vendor.example>", ("Dana Ruiz", "dana@vendor.example")),
        ('"Ruiz, Dana" <dana@vendor.example>', ("Ruiz, Dana", "dana@vendor.example")),
        ('"Dana \\"DR\\" Ruiz" <dana@vendor.example>', ('Dana "DR" Ruiz', "dana@vendor.example")),
        ("José Müller <jose@acme.example>", ("José Müller", "jose@acme.example")),
        ("onboarding@localhost", ("", "onboarding@localhost")),
        ("o'neil+ops/x=y@acme.example", ("", "o'neil+ops/x=y@acme.example")),
        ("Lee <lee@bücher.example>", ("Lee", "lee@xn--bcher-kva.example")),  # the same mailbox, in ASCII
        ("lee@faß.de", ("", "lee@xn--fa-hia.de")),  # IDNA 2008: not fass.de, another domain
    ],
)
def test_accepted_mailboxes(text: str, expected: tuple[str, str]) -> None:
    assert parse_mailbox(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "jürgen@x.example",  # non-ASCII local part: needs SMTPUTF8
        '"a:b"@x.example',  # quoted local part
        'Jo <"jo smith"@x.example>',
        "a..b@x.example",
        ".a@x.example",
        "a@x..example",
        "a@-x.example",
        "a@[10.0.0.1]",
        "a@x.example@y.example",
        "a(b)@x.example",
        "a:b@x.example",
        "nobody",
        "Pat <pat>",
        "Pat <pat@vendor.example",
        "Pat <pat@vendor.example> trailing",
        "x" * 65 + "@x.example",
        "x@" + ".".join(["y" * 60] * 5),
        "",
    ],
)
def test_refused_addresses_are_coded(text: str) -> None:
    with pytest.raises(AddressInvalid) as refused:
        parse_mailbox(text)
    assert codes(refused) == ["invalid-address"]
    assert refused.value.problems[0].hint  # says what to do


def test_control_characters_are_refused_in_names_and_addresses_never_replaced() -> None:
    with pytest.raises(AddressInvalid) as refused:
        mailbox("Dana\r\nBcc: victim@x.example", "dana@x.example\n")
    assert sorted(codes(refused)) == ["invalid-address", "invalid-name"]  # both, at once
    with pytest.raises(AddressInvalid):
        parse_mailbox("Dana <dana@x.example>\r\nBcc: victim@x.example")
    with pytest.raises(AddressInvalid):
        canonical_address("dana@x.example\t")


def test_people_are_checked_role_by_role_with_every_problem() -> None:
    people = {
        "csm": Person("Dana", "dana@vendor.example", "Europe/Berlin"),
        "admin": Person("Lee\nPark", "jürgen@acme.example", "Mars/Olympus"),
    }
    problems = person_problems(people)
    assert sorted((p.loc, p.code) for p in problems) == [
        (("bind", "admin"), "invalid-address"),
        (("bind", "admin"), "invalid-name"),
        (("bind", "admin"), "invalid-time-zone"),
    ]
    assert canonical_person(Person(" Lee ", "lee@BÜCHER.example")) == Person("Lee", "lee@xn--bcher-kva.example")


def test_a_list_reports_every_bad_entry_with_its_position() -> None:
    with pytest.raises(AddressInvalid) as refused:
        mailbox_list('Pat <pat@x.example>, jürgen@x.example, "Ruiz, Dana" <dana@x.example>, nobody')
    assert [(p.loc, p.code) for p in refused.value.problems] == [((1,), "invalid-address"), ((3,), "invalid-address")]


@given(ADDRESS)
def test_every_generated_address_is_accepted_and_canonical_is_ascii_and_stable(address: str) -> None:
    assert address_problem(address) is None
    canonical = canonical_address(address)
    assert canonical.isascii()
    assert canonical.rpartition("@")[0] == address.rpartition("@")[0]  # the local part is never touched
    assert canonical_address(canonical) == canonical


@given(ADDRESS, st.integers(min_value=0, max_value=60), CONTROL)
def test_a_control_character_anywhere_in_an_address_is_refused(address: str, at: int, char: str) -> None:
    at = min(at, len(address))
    with pytest.raises(AddressInvalid) as refused:
        canonical_address(address[:at] + char + address[at:])
    assert codes(refused) == ["invalid-address"]


@given(NAME, st.integers(min_value=0, max_value=40), CONTROL, ADDRESS)
def test_a_control_character_anywhere_in_a_name_is_refused(name: str, at: int, char: str, address: str) -> None:
    at = min(at, len(name))
    with pytest.raises(AddressInvalid) as refused:
        mailbox(name[:at] + char + name[at:], address)
    assert codes(refused) == ["invalid-name"]


@given(NAME, ADDRESS)
def test_mailbox_text_reads_back_as_the_same_pair(name: str, address: str) -> None:
    pair = mailbox(name, address)
    assert mailbox_list(mailbox_text(*pair)) == (pair,)
    assert parse_mailbox(mailbox_text(*pair)) == pair


@given(st.lists(st.tuples(NAME, ADDRESS), min_size=1, max_size=4))
def test_lists_of_mailboxes_read_back_in_order(pairs: list[tuple[str, str]]) -> None:
    checked = [mailbox(name, address) for name, address in pairs]
    assert mailbox_list(", ".join(mailbox_text(*pair) for pair in checked)) == tuple(checked)


@given(st.lists(st.tuples(NAME, ADDRESS), max_size=8))
def test_a_reply_to_list_fits_the_outbox_and_reads_back_as_a_prefix_of_the_contacts(
    pairs: list[tuple[str, str]],
) -> None:
    checked = [mailbox(name, address) for name, address in pairs]
    text = reply_to_text(checked)
    if text is None:
        assert checked == []
        return
    assert len(text) <= MAX_REPLY_TO
    read = mailbox_list(text)
    assert [address for _, address in read] == [address for _, address in checked][: len(read)]
    assert len(read) >= 1  # the first contact always fits, by name or by address


def test_a_long_name_gives_way_to_the_bare_address() -> None:
    name = "N" * 200
    assert reply_to_text([(name, "dana@vendor.example")], limit=100) == "dana@vendor.example"
    assert reply_to_text([("Dana", "dana@vendor.example"), ("Sam", "sam@vendor.example")], limit=30) == (
        "Dana <dana@vendor.example>"
    )


def test_a_reply_to_list_stops_at_the_first_contact_that_does_not_fit() -> None:
    """Never a later contact without an earlier one: the list is always the first contacts, in order."""
    people = [("Dana", "dana@vendor.example"), ("", "b" * 40 + "@vendor.example"), ("", "c@v.example")]
    assert reply_to_text(people, limit=40) == "Dana <dana@vendor.example>"


def test_an_ascii_label_reads_the_same_beside_a_non_ascii_one() -> None:
    """'00--0' is a host name label on its own; next to 'bücher' it stays one (only 'bücher' is IDNA-encoded)."""
    assert canonical_address("0@00--0.example") == "0@00--0.example"
    assert canonical_address("0@bücher.00--0") == "0@xn--bcher-kva.00--0"
