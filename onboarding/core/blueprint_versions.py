"""Published blueprint versions: how a reference names one, which one is the latest, what a publication decides.

A reference is ``KEY`` (the latest published version of the key) or
``KEY@VERSION`` (that version). A version, once published, always means the same
text: publishing the same text again changes nothing, and publishing other text
under a published version is refused (``blueprint-version-exists``); the fix is a
higher version.

"Latest" is the highest version by semantic-version precedence (the blueprint
format requires semantic versions): major, minor and patch compared as numbers
(1.10.0 after 1.9.0); a pre-release before its release (1.2.0-rc.1 before 1.2.0);
pre-release identifiers compared as numbers when both are numeric, else in ASCII
order, numeric ones first, a shorter list first when all else is equal. Build
metadata (``+build.7``) takes no part, so versions equal but for it are ordered by
publish time, the later published being the later; so are versions that are not
semantic (kept by databases from before the registry), which come before every
semantic one.

References: Semantic Versioning 2.0.0, section 11 (precedence), https://semver.org/#spec-item-11

Not here: storing publications (adapters/store), reading files (adapters), the use
cases (services/blueprints.py).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from onboarding.core.blueprint import KEY_PATTERN, SEMVER_PATTERN
from onboarding.errors import Problem

_SEMVER = re.compile(SEMVER_PATTERN)
_KEY = KEY_PATTERN.strip("^$")
_REF = re.compile(rf"^(?P<key>{_KEY})(?:@(?P<version>[0-9A-Za-z.+-]+))?$")


@dataclass(frozen=True, slots=True)
class BlueprintRef:
    """A published blueprint named by its key, and a version (None: the latest)."""

    key: str
    version: str | None = None

    def __str__(self) -> str:
        return self.key if self.version is None else f"{self.key}@{self.version}"


def parse_blueprint_ref(text: str) -> BlueprintRef | None:
    """``payroll`` or ``payroll@1.2.0`` as a reference; None for anything else (a file path, say)."""
    found = _REF.match(text.strip())
    if found is None or len(found["key"]) > 64:
        return None
    return BlueprintRef(found["key"], found["version"])


def content_id(text: str) -> str:
    """The id of a blueprint text: its SHA-256 (the same text is stored once, whoever launched or published it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """One published version of a blueprint, without its text.

    ``content_id`` is the SHA-256 of the text (the snapshot projects launched from it keep);
    ``source`` is where the text was read from when it was published (a file's path).
    """

    key: str
    version: str
    title: str
    content_id: str
    source: str
    published_at: datetime
    published_by: str

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"


def version_precedence(version: str) -> tuple[object, ...]:
    """A sort key giving semantic-version precedence; versions that are not semantic sort first, all equal."""
    found = _SEMVER.match(version)
    if found is None:
        return (0,)
    core, _, build = version.partition("+")
    del build  # build metadata takes no part in precedence
    release, _, pre = core.partition("-")
    major, minor, patch = (int(part) for part in release.split("."))
    if not pre:
        return (1, major, minor, patch, 1, ())
    identifiers = tuple(
        (0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return (1, major, minor, patch, 0, identifiers)


def in_version_order(versions: Iterable[PublishedVersion]) -> list[PublishedVersion]:
    """Oldest first by precedence, then by publish time; the last is the latest."""
    return sorted(versions, key=lambda v: (version_precedence(v.version), v.published_at, v.version))


def latest_of(versions: Iterable[PublishedVersion]) -> PublishedVersion | None:
    ordered = in_version_order(versions)
    return ordered[-1] if ordered else None


def next_version(version: str) -> str:
    """The next patch release after ``version`` (1.2.0 -> 1.2.1; 1.3.0-rc.1 -> 1.3.0), for hints."""
    found = _SEMVER.match(version)
    if found is None:
        return "1.0.0"
    release, _, pre = version.partition("+")[0].partition("-")
    major, minor, patch = (int(part) for part in release.split("."))
    return release if pre else f"{major}.{minor}.{patch + 1}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A checked blueprint asked to be published: its key, version, title, content id and where it was read."""

    key: str
    version: str
    title: str
    content_id: str
    source: str

    @property
    def ref(self) -> str:
        return f"{self.key}@{self.version}"


@dataclass(frozen=True, slots=True)
class PublicationDecision:
    """What publishing some candidates does: publish ``new``, leave ``already`` (published with the same text),
    or refuse them all for ``problems``."""

    new: tuple[Candidate, ...]
    already: tuple[Candidate, ...]
    problems: tuple[Problem, ...]


def decide_publication(
    candidates: Sequence[Candidate],
    *,
    published: Mapping[tuple[str, str], str],
    versions_of: Mapping[str, Sequence[str]] | None = None,
) -> PublicationDecision:
    """Which candidates are new, which are published already, which are refused.

    ``published`` gives the content id published under each (key, version) asked
    about; ``versions_of`` the versions published of each key (for the hint's
    suggested version). Two candidates with the same key and version and different
    texts refuse each other, as a published one would.
    """
    new: dict[tuple[str, str], Candidate] = {}
    already: list[Candidate] = []
    problems: list[Problem] = []
    for c in candidates:
        pair = (c.key, c.version)
        held = published.get(pair)
        if held is None and pair in new:
            held = new[pair].content_id
            if held == c.content_id:
                continue  # the same text twice in one publication
            holder = f"{new[pair].source} in the same publication"
        else:
            holder = "published already"
        if held is None:
            new[pair] = c
        elif held == c.content_id:
            already.append(c)
        else:
            taken = [c.version, *(versions_of or {}).get(c.key, ())]
            suggestion = next_version(max(taken, key=version_precedence))
            problems.append(
                Problem(
                    "blueprint-version-exists",
                    f"{c.key} {c.version} ({c.source}) is {holder} with different content",
                    (),
                    f"a published version never changes: raise this blueprint's version (to {suggestion}, say) "
                    "to publish what it says now",
                )
            )
    return PublicationDecision(tuple(new.values()), tuple(already), tuple(problems))


def not_found_problem(ref: BlueprintRef, published: Sequence[PublishedVersion]) -> Problem:
    """``blueprint-not-found`` for a reference the registry does not hold, with what it could have meant."""
    versions = [v.version for v in in_version_order(v for v in published if v.key == ref.key)]
    if versions:
        return Problem(
            "blueprint-not-found",
            f"{ref.key} has no published version {ref.version!r}",
            (),
            f"published versions of {ref.key}: {', '.join(versions)}; name one of them, or publish that version first",
        )
    keys = sorted({v.key for v in published})
    close = difflib.get_close_matches(ref.key, keys, n=3, cutoff=0.6)
    if close:
        hint = f"did you mean {' or '.join(repr(k) for k in close)}? Or publish the blueprint first"
    elif keys:
        hint = f"published blueprints: {', '.join(keys)}; or publish the blueprint first"
    else:
        hint = "no blueprint is published yet: publish one first, or name a blueprint file"
    return Problem("blueprint-not-found", f"no published blueprint {ref.key!r}", (), hint)
