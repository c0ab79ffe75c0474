"""The blueprint registry: publish checked blueprints as versions, list and show them, diff two versions, and
find the blueprint a launch or a plan names.

A launch or a plan names a blueprint by reference: ``KEY`` (its latest published
version), ``KEY@VERSION``, or a file. A file is read and checked; a launch
publishes what it read (``publish_loaded``), so that every project's blueprint is
a published version, and a file whose version was published with other text is
refused before anything is stored. What "latest" means, and what a publication
decides, are the core's (``core/blueprint_versions.py``); what changed between
two versions too (``core/blueprint_diff.py``).

Not here: reading and checking files (a ``BlueprintSource``), SQL (a ``BlueprintCatalog``),
formatting (the edges).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from onboarding.core.blueprint_diff import BlueprintDiff, diff_blueprints
from onboarding.core.blueprint_versions import (
    BlueprintRef,
    Candidate,
    PublicationDecision,
    PublishedVersion,
    content_id,
    decide_publication,
    in_version_order,
    latest_of,
    not_found_problem,
    parse_blueprint_ref,
)
from onboarding.errors import BlueprintInvalid, BlueprintNotFound, BlueprintVersionExists, ChangeConflict, Problem
from onboarding.services.ports import BlueprintCatalog, BlueprintSource, Clock, ConcurrentChange, LoadedBlueprint

_RETRIES = 5


@dataclass(frozen=True)
class Published:
    """A version as published; ``created`` is False when it was published with the same text before."""

    version: PublishedVersion
    created: bool


@dataclass(frozen=True)
class BlueprintVersions:
    """A key of the registry: its latest version and every published version, oldest first."""

    key: str
    latest: PublishedVersion
    versions: tuple[PublishedVersion, ...]


@dataclass(frozen=True)
class ShownBlueprint:
    """One published version with its text and its checked blueprint, and the versions of its key."""

    version: PublishedVersion
    text: str
    loaded: LoadedBlueprint
    versions: tuple[PublishedVersion, ...]

    @property
    def latest(self) -> bool:
        return self.versions[-1] == self.version


class BlueprintRegistry:
    def __init__(self, *, catalog: BlueprintCatalog, blueprints: BlueprintSource, clock: Clock) -> None:
        self._catalog = catalog
        self._blueprints = blueprints
        self._clock = clock
        self._parsed: dict[str, LoadedBlueprint] = {}  # by content id: a published text is parsed once

    # -- publishing ------------------------------------------------------------

    def publish(self, refs: Sequence[str], *, by: str) -> list[Published]:
        """Read, check and publish blueprint files, all or none.

        A file published before with the same text is left as it is (``created`` False);
        one whose key and version hold other text is refused (``blueprint-version-exists``),
        and so is the whole publication. Files with problems are refused with every
        problem of every file.
        """
        loaded: list[LoadedBlueprint] = []
        errors: list[BlueprintInvalid] = []
        for ref in refs:
            try:
                loaded.append(self._blueprints.load(ref))
            except BlueprintInvalid as error:
                errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BlueprintInvalid(
                f"{len(errors)} of {len(refs)} blueprints",
                tuple(replace(p, loc=(e.source, *p.loc)) for e in errors for p in e.problems),
            )
        return self.publish_loaded(loaded, by=by)

    def publish_text(self, text: str, *, source: str, by: str) -> Published:
        """Check and publish a blueprint given as text (``source`` says where it came from)."""
        return self.publish_loaded([self._blueprints.parse(text, source=source)], by=by)[0]

    def publish_loaded(self, loaded: Sequence[LoadedBlueprint], *, by: str) -> list[Published]:
        """Publish checked blueprints, all or none; one result per blueprint, in order."""
        candidates = [_candidate(item) for item in loaded]
        texts = {c.content_id: item.text for c, item in zip(candidates, loaded, strict=True)}
        for _attempt in range(_RETRIES):
            decision = self._decide(candidates)
            try:
                self._catalog.publish([(c, texts[c.content_id]) for c in decision.new], at=self._clock.now(), by=by)
            except ConcurrentChange:
                continue  # another publication took one of these versions: read again, and refuse or agree
            new = {c.content_id for c in decision.new}
            stored = {(v.key, v.version): v for key in {c.key for c in candidates} for v in self._catalog.versions(key)}
            return [Published(stored[c.key, c.version], created=c.content_id in new) for c in candidates]
        raise ChangeConflict(
            "publish",
            (
                Problem(
                    "concurrent-change",
                    f"{', '.join(c.ref for c in candidates)}: other publications of these versions kept landing "
                    "while this one was made; nothing of it was stored",
                    hint="publish again",
                ),
            ),
        )

    def _decide(self, candidates: Sequence[Candidate]) -> PublicationDecision:
        """What publishing these would do; raises ``blueprint-version-exists`` for any whose version holds
        other text."""
        published = self._catalog.published_ids({c.key for c in candidates})
        versions_of: dict[str, list[str]] = {}
        for key, version in published:
            versions_of.setdefault(key, []).append(version)
        decision = decide_publication(candidates, published=published, versions_of=versions_of)
        if decision.problems:
            source = candidates[0].source if len(candidates) == 1 else "publish"
            raise BlueprintVersionExists(source, decision.problems)
        return decision

    # -- reading ---------------------------------------------------------------

    def list(self) -> list[BlueprintVersions]:
        """Every published key, with its latest version and all its versions; by key."""
        by_key: dict[str, list[PublishedVersion]] = {}
        for version in self._catalog.versions():
            by_key.setdefault(version.key, []).append(version)
        out: list[BlueprintVersions] = []
        for key in sorted(by_key):
            ordered = tuple(in_version_order(by_key[key]))
            out.append(BlueprintVersions(key, ordered[-1], ordered))
        return out

    def show(self, ref: str, *, version: str | None = None) -> ShownBlueprint:
        """A published version by ``KEY`` (the latest) or ``KEY@VERSION``, or by key and ``version``."""
        named = parse_blueprint_ref(ref)
        if named is None:
            raise BlueprintNotFound(ref, (not_found_problem(BlueprintRef(ref, version), self._catalog.versions()),))
        if version is not None:
            named = BlueprintRef(named.key, version)
        return self._published(named)

    def diff(self, key: str, before: str, after: str) -> BlueprintDiff:
        """What changed from version ``before`` of a key to version ``after``."""
        old = self._published(BlueprintRef(key, before))
        new = self._published(BlueprintRef(key, after))
        return diff_blueprints(old.loaded.blueprint, new.loaded.blueprint)

    # -- what launches and plans name ------------------------------------------

    def load(self, ref: str) -> LoadedBlueprint:
        """The checked blueprint a reference names: a published ``KEY`` or ``KEY@VERSION``, else a file.

        A file is read and checked, not published (``find`` refuses one whose version
        holds other text; ``publish_loaded`` publishes it).
        """
        named = parse_blueprint_ref(ref)
        if named is None:
            return self._blueprints.load(ref)
        versions = self._catalog.versions(named.key)
        if versions and (named.version is None or any(v.version == named.version for v in versions)):
            return self._published(named, versions=versions).loaded
        try:
            return self._blueprints.load(ref)  # a file named like a key
        except BlueprintInvalid as error:
            if error.codes != ["file-not-found"]:
                raise
        everything = versions if named.version is not None and versions else self._catalog.versions()
        raise BlueprintNotFound(ref, (not_found_problem(named, everything),)) from None

    def find(self, ref: str) -> LoadedBlueprint:
        """``load``, refusing a file whose key and version were published with other text
        (``blueprint-version-exists``): what a launch may publish."""
        loaded = self.load(ref)
        self._decide([_candidate(loaded)])
        return loaded

    def resolve(self, ref: str, *, by: str) -> LoadedBlueprint:
        """``find``, publishing a file it read."""
        loaded = self.find(ref)
        self.publish_loaded([loaded], by=by)
        return loaded

    def _published(self, ref: BlueprintRef, *, versions: Sequence[PublishedVersion] | None = None) -> ShownBlueprint:
        if versions is None:
            versions = self._catalog.versions(ref.key)
        ordered = tuple(in_version_order(versions))
        chosen = (
            latest_of(ordered) if ref.version is None else next((v for v in ordered if v.version == ref.version), None)
        )
        found = None if chosen is None else self._catalog.text(chosen.key, chosen.version)
        if found is None:
            everything = list(ordered) if ordered else self._catalog.versions()
            raise BlueprintNotFound(str(ref), (not_found_problem(ref, everything),))
        version, text = found
        if version.content_id not in self._parsed:
            self._parsed[version.content_id] = self._blueprints.parse(text, source=version.source)
        return ShownBlueprint(version, text, self._parsed[version.content_id], ordered)


def _candidate(loaded: LoadedBlueprint) -> Candidate:
    bp = loaded.blueprint
    return Candidate(bp.key, bp.version, bp.title, content_id(loaded.text), loaded.source)
