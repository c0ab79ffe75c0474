"""Which share of a sweep a project belongs to, when N workers share one sweep.

A project is in shard ``crc32(project id) mod N``: a rule every process on every
machine computes alike (Python's ``hash()`` of a string differs between processes),
so N shard runs of one sweep each attend their own projects and no project is swept
twice. N is a deployment parameter: chosen generously (more shards than workers),
the shards even out the workers' loads and more workers can join without changing it.

Pure. Not here: which steps of a sweep are shared out (``services/sweep.py``), and
handing shards to Prefect workers (``onboarding_flows/sweep.py``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from onboarding.errors import Problem, SweepRefused

MAX_SHARDS = 100_000  # far more than any pool has workers; a larger count is a typo


def shard_of(project_id: str, shards: int) -> int:
    """The shard, out of ``shards``, that holds this project."""
    return zlib.crc32(project_id.encode()) % shards


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` (numbered from 0)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise _refused("shards", f"{self.count} shards", f"give a count from 1 to {MAX_SHARDS:,}")
        if not 0 <= self.index < self.count:
            raise _refused(
                "shard", f"shard {self.index} of {self.count}", f"number the shards from 0 to {self.count - 1}"
            )

    @classmethod
    def whole(cls) -> Shard:
        """The one shard of a sweep that is not shared: every project."""
        return cls(0, 1)

    def holds(self, project_id: str) -> bool:
        return self.count == 1 or shard_of(project_id, self.count) == self.index

    def of(self, project_ids: Iterable[str]) -> list[str]:
        """The ids this shard holds, in the order given."""
        return list(project_ids) if self.count == 1 else [p for p in project_ids if self.holds(p)]


def _refused(where: str, what: str, hint: str) -> SweepRefused:
    return SweepRefused("sweep", (Problem("invalid-shard", f"{what} is not a share of a sweep", (where,), hint),))
