"""Published versions: references, the latest by semantic-version precedence, what a publication decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onboarding.core.blueprint_versions import (
    BlueprintRef,
    Candidate,
    PublishedVersion,
    decide_publication,
    in_version_order,
    latest_of,
    next_version,
    not_found_problem,
    parse_blueprint_ref,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def published(version: str, *, key: str = "payroll", minutes: int = 0) -> PublishedVersion:
    return PublishedVersion(key, version, "Payroll", f"id-{version}", "p.yaml", T0 + timedelta(minutes=minutes), "cli")


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("payroll", BlueprintRef("payroll")),
        ("payroll_implementation@1.2.0", BlueprintRef("payroll_implementation", "1.2.0")),
        ("payroll@1.0.0-rc.1+build.5", BlueprintRef("payroll", "1.0.0-rc.1+build.5")),
        ("blueprints/payroll.yaml", None),
        ("payroll.yaml", None),
        ("Payroll", None),
        ("payroll@", None),
        ("", None),
    ],
)
def test_a_reference_is_a_key_and_an_optional_version(text: str, ref: BlueprintRef | None) -> None:
    assert parse_blueprint_ref(text) == ref


def test_the_latest_is_the_highest_by_semantic_version_precedence() -> None:
    versions = ["1.10.0", "1.9.0", "1.0.0-rc.1", "1.0.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "2.0.0-1"]
    ordered = [v.version for v in in_version_order(published(v, minutes=-i) for i, v in enumerate(versions))]
    assert ordered == [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-rc.1",
        "1.0.0",
        "1.9.0",
        "1.10.0",
        "2.0.0-1",
    ]
    assert latest_of(published(v) for v in ["1.2.0", "1.10.0", "1.9.9"]) == published("1.10.0")
    assert latest_of([]) is None


def test_versions_equal_but_for_build_metadata_are_ordered_by_publish_time() -> None:
    later, earlier = published("1.0.0+b", minutes=5), published("1.0.0+a", minutes=9)
    assert latest_of([earlier, later]) == earlier
    assert latest_of([published("legacy", minutes=99), published("0.0.1")]) == published("0.0.1")


def test_the_next_version_a_hint_suggests() -> None:
    assert next_version("1.2.0") == "1.2.1"
    assert next_version("1.3.0-rc.1") == "1.3.0"
    assert next_version("2.0.9+build") == "2.0.10"


def candidate(version: str, content: str, source: str = "p.yaml") -> Candidate:
    return Candidate("payroll", version, "Payroll", content, source)


def test_publishing_decides_new_already_and_refused() -> None:
    decision = decide_publication(
        [candidate("1.0.0", "a"), candidate("1.1.0", "x"), candidate("1.2.0", "c"), candidate("1.2.0", "c")],
        published={("payroll", "1.0.0"): "a", ("payroll", "1.1.0"): "b"},
        versions_of={"payroll": ["1.0.0", "1.1.0", "1.4.0"]},
    )
    assert [c.version for c in decision.new] == ["1.2.0"]
    assert [c.version for c in decision.already] == ["1.0.0"]
    (problem,) = decision.problems
    assert problem.code == "blueprint-version-exists"
    assert "1.4.1" in problem.hint and "raise" in problem.hint


def test_two_texts_under_one_version_in_one_publication_refuse_each_other() -> None:
    decision = decide_publication([candidate("1.0.0", "a", "a.yaml"), candidate("1.0.0", "b", "b.yaml")], published={})
    assert [p.code for p in decision.problems] == ["blueprint-version-exists"]
    assert "a.yaml" in decision.problems[0].message


def test_not_found_says_what_could_have_been_meant() -> None:
    known = [published("1.0.0"), published("1.1.0"), published("2.0.0", key="hr_platform")]
    typo = not_found_problem(BlueprintRef("payrol"), known)
    assert typo.code == "blueprint-not-found" and "'payroll'" in typo.hint
    version = not_found_problem(BlueprintRef("payroll", "3.0.0"), known)
    assert "1.0.0, 1.1.0" in version.hint
    assert "hr_platform" in not_found_problem(BlueprintRef("zzz"), known).hint
    assert "no blueprint is published" in not_found_problem(BlueprintRef("zzz"), []).hint
