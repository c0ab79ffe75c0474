"""The blueprint registry through its service, on the in-memory twin, SQLite and PostgreSQL: publishing, reading,
diffing, and launches and plans that name a published blueprint."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from onboarding.adapters.blueprint_files import InMemoryBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.blueprints import SqlBlueprintCatalog
from onboarding.adapters.store.memory import InMemoryBlueprintCatalog, InMemoryProjectStore
from onboarding.adapters.store.sql import SqlProjectStore, make_engine, migrate
from onboarding.core.blueprint_diff import ChangeKind, Part
from onboarding.core.messages import Person
from onboarding.errors import (
    BlueprintInvalid,
    BlueprintNotFound,
    BlueprintVersionExists,
    ChangeConflict,
    PlanInputInvalid,
)
from onboarding.services.blueprints import BlueprintRegistry
from onboarding.services.planning import PlanningService
from onboarding.services.ports import BlueprintCatalog, ConcurrentChange, ProjectStore
from tests.conftest import blueprint_data
from tests.stores import _fresh_postgres

D = date.fromisoformat
PEOPLE = {
    "csm": Person("Dana Ruiz", "dana@vendor.example"),
    "engineer": Person("Ivo Petrov", "ivo@vendor.example"),
    "admin": Person("Lee Park", "lee@acme.example"),
}


def text_of(*, version: str = "1.0.0", setup_days: int = 3, **extra: Any) -> str:
    data = blueprint_data(
        [
            {"key": "kickoff", "title": "Kickoff", "owner": "csm"},
            {"key": "setup", "title": "Set up", "owner": "engineer", "duration_business_days": setup_days},
            {"key": "review", "title": "Review", "owner": "admin", "depends_on": ["setup"]},
        ],
        **extra,
    )
    data["version"] = version
    return yaml.safe_dump(data, sort_keys=False)


@dataclass
class World:
    files: InMemoryBlueprints
    catalog: BlueprintCatalog
    store: ProjectStore
    registry: BlueprintRegistry
    clock: FixedClock

    def projects(self) -> Any:
        from onboarding.services.projects import ProjectService

        return ProjectService(
            store=self.store,
            blueprints=self.files,
            clock=self.clock,
            sender=Person("Onboarding", "onboarding@vendor.example"),
            registry=self.registry,
        )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    files = InMemoryBlueprints({"bp.yaml": text_of(), "bp-1.1.yaml": text_of(version="1.1.0", setup_days=5)})
    clock = FixedClock(D("2026-12-04"))
    engine = None
    catalog: BlueprintCatalog
    store: ProjectStore
    if request.param == "memory":
        catalog, store = InMemoryBlueprintCatalog(), InMemoryProjectStore()
    else:
        if request.param == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / 'onboarding.db'}")
            migrate(engine)
        else:
            engine = _fresh_postgres(request.getfixturevalue("postgres_url"))
        catalog, store = SqlBlueprintCatalog(engine), SqlProjectStore(engine)
    yield World(files, catalog, store, BlueprintRegistry(catalog=catalog, blueprints=files, clock=clock), clock)
    if engine is not None:
        engine.dispose()


def test_a_published_file_is_listed_and_shown(world: World) -> None:
    (published,) = world.registry.publish(["bp.yaml"], by="dana")
    assert published.created
    assert (published.version.ref, published.version.published_by, published.version.source) == (
        "test_blueprint@1.0.0",
        "dana",
        "bp.yaml",
    )
    assert published.version.published_at == world.clock.now()
    (listed,) = world.registry.list()
    assert (listed.key, listed.latest.version, [v.version for v in listed.versions]) == (
        "test_blueprint",
        "1.0.0",
        ["1.0.0"],
    )
    shown = world.registry.show("test_blueprint")
    assert shown.text == text_of() and shown.latest
    assert shown.loaded.blueprint.key == "test_blueprint"
    assert world.registry.show("test_blueprint@1.0.0").version == shown.version


def test_publishing_the_same_text_again_changes_nothing(world: World) -> None:
    first = world.registry.publish(["bp.yaml"], by="dana")[0]
    world.clock.set(D("2026-12-05"))
    again = world.registry.publish(["bp.yaml"], by="ivo")[0]
    assert not again.created and again.version == first.version


def test_a_published_version_never_takes_other_text(world: World) -> None:
    world.registry.publish(["bp.yaml", "bp-1.1.yaml"], by="dana")
    world.files.texts["edited.yaml"] = text_of(setup_days=9)  # still 1.0.0
    with pytest.raises(BlueprintVersionExists) as refused:
        world.registry.publish(["edited.yaml"], by="dana")
    assert refused.value.codes == ["blueprint-version-exists"]
    assert "1.1.1" in refused.value.problems[0].hint  # above every published version
    assert world.registry.show("test_blueprint@1.0.0").text == text_of()


def test_invalid_files_are_refused_with_every_problem_and_nothing_is_published(world: World) -> None:
    broken = yaml.safe_load(text_of())
    review = broken["milestones"][0]["tasks"][2]
    review.update(owner="nobody", depends_on=["sett"])
    world.files.texts["broken.yaml"] = yaml.safe_dump(broken)
    world.files.texts["typo.yaml"] = text_of().replace("title: Kickoff", "titel: Kickoff")
    with pytest.raises(BlueprintInvalid) as refused:
        world.registry.publish(["bp.yaml", "broken.yaml", "typo.yaml"], by="dana")
    assert set(refused.value.codes) >= {"unknown-role", "unknown-dependency", "unknown-field"}
    assert {p.loc[0] for p in refused.value.problems} == {"broken.yaml", "typo.yaml"}
    assert world.registry.list() == []


def test_the_latest_is_the_highest_version_whatever_the_order_published(world: World) -> None:
    for version in ("1.9.0", "1.10.0", "1.2.0", "1.10.0-rc.1"):
        world.files.texts[version] = text_of(version=version)
    world.registry.publish(["1.9.0", "1.10.0"], by="dana")
    world.registry.publish(["1.2.0"], by="dana")
    world.registry.publish(["1.10.0-rc.1"], by="dana")
    assert world.registry.show("test_blueprint").version.version == "1.10.0"
    (listed,) = world.registry.list()
    assert [v.version for v in listed.versions] == ["1.2.0", "1.9.0", "1.10.0-rc.1", "1.10.0"]


def test_two_versions_diff(world: World) -> None:
    world.registry.publish(["bp.yaml", "bp-1.1.yaml"], by="dana")
    diff = world.registry.diff("test_blueprint", "1.0.0", "1.1.0")
    (change,) = diff.changes
    assert (change.part, change.key, change.kind) == (Part.task, "setup", ChangeKind.changed)
    assert [(f.field, f.before, f.after) for f in change.fields] == [("duration_business_days", 3, 5)]
    assert world.registry.diff("test_blueprint", "1.1.0", "1.0.0") == diff.mirrored()
    with pytest.raises(BlueprintNotFound) as missing:
        world.registry.diff("test_blueprint", "1.0.0", "2.0.0")
    assert "1.0.0, 1.1.0" in missing.value.problems[0].hint


def test_a_key_not_published_says_what_was_meant(world: World) -> None:
    world.registry.publish(["bp.yaml"], by="dana")
    with pytest.raises(BlueprintNotFound) as missing:
        world.registry.show("test_bluprint")
    assert missing.value.codes == ["blueprint-not-found"] and "'test_blueprint'" in missing.value.problems[0].hint


def launch(world: World, ref: str, **more: Any) -> Any:
    return world.projects().launch(
        ref, customer="Acme", kickoff_on=D("2026-12-07"), bindings=more.pop("bindings", PEOPLE), **more
    )


def test_a_launch_names_the_latest_or_a_given_version(world: World) -> None:
    world.registry.publish(["bp.yaml", "bp-1.1.yaml"], by="dana")
    latest = launch(world, "test_blueprint").project
    older = launch(world, "test_blueprint@1.0.0").project
    assert (latest.blueprint_version, older.blueprint_version) == ("1.1.0", "1.0.0")
    assert latest.task("setup").duration_business_days == 5
    assert older.blueprint_text == text_of()


def test_a_launch_from_a_file_publishes_it(world: World) -> None:
    project = launch(world, "bp.yaml", actor="crm").project
    (listed,) = world.registry.list()
    assert listed.latest.ref == "test_blueprint@1.0.0" and listed.latest.published_by == "crm"
    assert world.registry.show("test_blueprint").version.content_id == world.registry.list()[0].latest.content_id
    assert project.blueprint_version == "1.0.0"
    again = launch(world, "test_blueprint").project  # the same text, by its key
    assert again.blueprint_text == project.blueprint_text


def test_a_launch_from_outside_names_published_blueprints_only(world: World) -> None:
    with pytest.raises(BlueprintNotFound):
        launch(world, "bp.yaml", published_only=True)  # a file is never read
    world.registry.publish(["bp.yaml"], by="dana")
    assert launch(world, "test_blueprint", published_only=True).project.blueprint_version == "1.0.0"


def test_a_launch_refused_publishes_nothing(world: World) -> None:
    with pytest.raises(PlanInputInvalid):
        launch(world, "bp.yaml", bindings={"csm": PEOPLE["csm"]})
    assert world.registry.list() == []


def test_a_launch_from_a_file_whose_version_holds_other_text_is_refused(world: World) -> None:
    world.registry.publish(["bp.yaml"], by="dana")
    world.files.texts["edited.yaml"] = text_of(setup_days=9)
    with pytest.raises(BlueprintVersionExists):
        launch(world, "edited.yaml")
    assert world.store.list_projects() == []


def test_a_launch_by_a_key_not_published_is_refused_with_a_suggestion(world: World) -> None:
    world.registry.publish(["bp.yaml"], by="dana")
    with pytest.raises(BlueprintNotFound) as missing:
        launch(world, "test_blueprnt")
    assert "'test_blueprint'" in missing.value.problems[0].hint
    with pytest.raises(BlueprintNotFound):
        launch(world, "test_blueprint@3.0.0")
    assert world.store.list_projects() == []


def test_a_plan_names_a_published_blueprint_and_stores_nothing(world: World) -> None:
    world.registry.publish(["bp-1.1.yaml"], by="dana")
    planning = PlanningService(blueprints=world.files, clock=world.clock, registry=lambda: world.registry)
    plan = planning.plan("test_blueprint", kickoff_on=D("2026-12-07"))
    assert plan.blueprint_version == "1.1.0"
    world.files.texts["draft.yaml"] = text_of(version="2.0.0")
    assert planning.plan("draft.yaml", kickoff_on=D("2026-12-07")).blueprint_version == "2.0.0"
    assert [v.version for v in world.registry.list()[0].versions] == ["1.1.0"]
    preview = planning.plan_published("test_blueprint", version="1.1.0", kickoff_on=D("2026-12-07"))
    assert preview.task("setup").due_on == D("2026-12-11")
    with pytest.raises(BlueprintNotFound):
        planning.plan_published("draft.yaml", kickoff_on=D("2026-12-07"))  # a published key only, never a file


def test_a_publication_racing_another_for_the_same_version_is_refused(world: World) -> None:
    """The other publication wins between this one's read and its write: the store refuses the write, the
    service reads again and refuses the version."""
    other = copy.copy(world.registry)
    world.files.texts["edited.yaml"] = text_of(setup_days=9)
    catalog = world.catalog
    real_ids = catalog.published_ids
    calls = 0

    def stale_first_read(keys: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            other.publish(["bp.yaml"], by="ivo")  # lands after this read
            return {}
        return real_ids(keys)

    catalog.published_ids = stale_first_read  # type: ignore[method-assign]
    with pytest.raises(BlueprintVersionExists):
        world.registry.publish(["edited.yaml"], by="dana")
    catalog.published_ids = real_ids  # type: ignore[method-assign]
    assert world.registry.show("test_blueprint").text == text_of()


def test_a_publication_that_keeps_meeting_others_gives_up_storing_nothing() -> None:
    class Contested(InMemoryBlueprintCatalog):
        def publish(self, entries: Any, *, at: Any, by: str) -> None:
            raise ConcurrentChange("always")

    catalog = Contested()
    registry = BlueprintRegistry(
        catalog=catalog, blueprints=InMemoryBlueprints({"bp.yaml": text_of()}), clock=FixedClock(D("2026-12-04"))
    )
    with pytest.raises(ChangeConflict) as refused:
        registry.publish(["bp.yaml"], by="dana")
    assert refused.value.codes == ["concurrent-change"]
    assert catalog.versions() == []
