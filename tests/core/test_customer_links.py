"""Customer link tokens: one token opens one project for one person, and anything else is refused by code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboarding.core.customer_links import (
    EXPIRED,
    EXPIRY_GRACE_DAYS,
    INVALID,
    REVOKED,
    CustomerLink,
    LinkKey,
    customer_link_token,
    form_token,
    is_form_token,
    link_names,
    read_customer_link,
)
from onboarding.core.lifecycle import ProjectState
from onboarding.errors import CustomerLinkRefused

SECRET = b"s" * 40
KEY = LinkKey(b"k" * 32, 1)
TODAY = date(2026, 12, 7)

ids = st.text(st.characters(codec="utf-8", exclude_characters="\n"), min_size=1, max_size=30)
emails = st.emails().map(str.lower)


def read(token: str, *, key: LinkKey | None = KEY, state: ProjectState = ProjectState.active, ended_on=None):
    return read_customer_link(token, secret=SECRET, link_key=key, project_state=state, ended_on=ended_on, today=TODAY)


def code_of(token: str, **kwargs) -> str:
    with pytest.raises(CustomerLinkRefused) as refused:
        read(token, **kwargs)
    return refused.value.codes[0]


def test_a_token_names_its_project_person_and_key_generation():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email=" Ana@Customer.Example ")
    assert read(token) == CustomerLink("p-1", 1, "ana@customer.example")
    assert all(c.isalnum() or c in "-_." for c in token)  # URL-safe as it is


@given(ids, ids, emails, emails)
def test_a_token_for_one_project_or_person_never_opens_another(project_a, project_b, email_a, email_b):
    token = customer_link_token(SECRET, KEY, project_id=project_a, email=email_a)
    link = read(token)
    assert (link.project_id, link.email) == (project_a, email_a)
    # the only way to name another project or person is another token; this one says what it says
    if (project_a, email_a) != (project_b, email_b):
        assert (link.project_id, link.email) != (project_b, email_b)


@given(ids, ids, emails, emails)
def test_a_signature_never_opens_another_project_or_person(project_a, project_b, email_a, email_b):
    mine = customer_link_token(SECRET, KEY, project_id=project_a, email=email_a)
    theirs = customer_link_token(SECRET, KEY, project_id=project_b, email=email_b)
    spliced = theirs.split(".")[0] + "." + mine.split(".")[1]  # their names under my signature
    if (project_a, email_a) == (project_b, email_b):
        assert spliced == mine
    else:
        assert code_of(spliced) == INVALID


@given(ids, emails, st.binary(min_size=16, max_size=32))
def test_another_projects_link_key_refuses_the_token(project, email, other_key):
    token = customer_link_token(SECRET, KEY, project_id=project, email=email)
    if other_key != KEY.value:
        assert code_of(token, key=LinkKey(other_key, 1)) == INVALID


@given(ids, emails, st.data())
def test_any_altered_character_is_refused(project, email, data):
    token = customer_link_token(SECRET, KEY, project_id=project, email=email)
    at = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("ABCabc019-_.").filter(lambda c: c != token[at]))
    altered = token[:at] + replacement + token[at + 1 :]
    assert code_of(altered) in (INVALID, REVOKED)  # base64's spare bits included: one way to write a token


@given(ids, emails, st.data())
def test_a_character_added_is_refused(project, email, data):
    token = customer_link_token(SECRET, KEY, project_id=project, email=email)
    at = data.draw(st.integers(0, len(token)))
    added = data.draw(st.sampled_from("~!=+/ %\t"))
    with_it = token[:at] + added + token[at:]
    if not added.strip() and at in (0, len(token)):
        assert read(with_it) == read(token)  # spaces around a pasted link are not part of it
    else:
        assert code_of(with_it) == INVALID


def test_names_swapped_into_a_valid_signature_are_refused():
    mine = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    theirs = customer_link_token(SECRET, KEY, project_id="p-2", email="bo@customer.example")
    assert code_of(theirs.split(".")[0] + "." + mine.split(".")[1]) == INVALID


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???", "Yzk.AAAA"])
def test_garbage_is_refused_as_invalid(garbage):
    assert code_of(garbage) == INVALID
    assert link_names(garbage) is None


def test_a_project_without_a_link_key_refuses_every_token():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    assert code_of(token, key=None) == INVALID


def test_rotating_the_link_key_revokes_earlier_tokens():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    rotated = LinkKey(b"n" * 32, 2)
    assert code_of(token, key=rotated) == REVOKED
    fresh = customer_link_token(SECRET, rotated, project_id="p-1", email="ana@customer.example")
    assert read(fresh, key=rotated).generation == 2


def test_a_generation_from_the_future_is_invalid_not_revoked():
    token = customer_link_token(SECRET, LinkKey(b"k" * 32, 5), project_id="p-1", email="ana@customer.example")
    assert code_of(token) == INVALID


def test_another_engine_secret_refuses_the_token():
    token = customer_link_token(b"o" * 40, KEY, project_id="p-1", email="ana@customer.example")
    assert code_of(token) == INVALID


def test_links_expire_when_the_project_is_cancelled():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    assert code_of(token, state=ProjectState.cancelled) == EXPIRED
    assert read(token, state=ProjectState.on_hold).project_id == "p-1"


def test_a_completed_project_stays_open_for_the_grace_days():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    last_open = TODAY - timedelta(days=EXPIRY_GRACE_DAYS - 1)
    assert read(token, state=ProjectState.completed, ended_on=last_open).email == "ana@customer.example"
    ended = TODAY - timedelta(days=EXPIRY_GRACE_DAYS)
    assert code_of(token, state=ProjectState.completed, ended_on=ended) == EXPIRED


def test_an_altered_token_is_refused_even_on_an_ended_project():
    token = customer_link_token(SECRET, KEY, project_id="p-1", email="ana@customer.example")
    assert code_of(token[:-2] + "AA", state=ProjectState.cancelled) == INVALID


LINK, OTHER_LINK = "t", "u"


def test_form_tokens_bind_the_link_the_action_and_the_task():
    value = form_token(SECRET, link_token=LINK, action="done", task_key="a")
    assert is_form_token(value, SECRET, link_token=LINK, action="done", task_key="a")
    assert not is_form_token(value, SECRET, link_token=LINK, action="stuck", task_key="a")
    assert not is_form_token(value, SECRET, link_token=LINK, action="done", task_key="b")
    assert not is_form_token(value, SECRET, link_token=OTHER_LINK, action="done", task_key="a")
    assert not is_form_token(None, SECRET, link_token=LINK, action="done", task_key="a")
    assert not is_form_token("é", SECRET, link_token=LINK, action="done", task_key="a")


@pytest.mark.parametrize("email", ["", "a\nb@x.example"])
def test_no_token_for_an_unusable_address(email):
    with pytest.raises(ValueError):
        customer_link_token(SECRET, KEY, project_id="p-1", email=email)
