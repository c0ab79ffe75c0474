"""A sweep shared by N workers: each project in exactly one shard, the same one in every process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboarding.core.shards import Shard, shard_of
from onboarding.errors import SweepRefused

IDS = st.lists(st.text(min_size=1, max_size=40), max_size=60, unique=True)


@given(ids=IDS, count=st.integers(min_value=1, max_value=64))
def test_the_shards_of_a_count_partition_any_ids(ids: list[str], count: int) -> None:
    parts = [Shard(index, count).of(ids) for index in range(count)]
    assert sorted(p for part in parts for p in part) == sorted(ids)  # each id once, none lost
    for index, part in enumerate(parts):
        assert all(shard_of(p, count) == index and Shard(index, count).holds(p) for p in part)
        assert part == [p for p in ids if p in set(part)]  # in the order given


def test_a_project_is_in_the_same_shard_in_every_process() -> None:
    """Not Python's ``hash()``, which differs between processes: a worker on another machine agrees."""
    ids = [str(uuid.UUID(int=n)) for n in range(200)]
    here = [shard_of(p, 16) for p in ids]
    script = "import sys; from onboarding.core.shards import shard_of; print(*(shard_of(p, 16) for p in sys.argv[1:]))"
    there = subprocess.run(
        [sys.executable, "-c", script, *ids],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [int(s) for s in there] == here
    assert here[:3] == [zlib.crc32(p.encode()) % 16 for p in ids[:3]]  # a documented, portable rule


def test_shards_share_a_portfolio_about_evenly() -> None:
    ids = [str(uuid.uuid4()) for _ in range(8_000)]
    sizes = [len(Shard(index, 8).of(ids)) for index in range(8)]
    assert min(sizes) > 800 and max(sizes) < 1_200


def test_one_shard_holds_everything() -> None:
    assert Shard(0, 1).of(["b", "a"]) == ["b", "a"]
    assert Shard.whole().count == 1


@pytest.mark.parametrize(
    ("index", "count", "where"),
    [(0, 0, "shards"), (-1, 4, "shard"), (4, 4, "shard"), (0, 100_001, "shards")],
)
def test_a_shard_outside_its_count_is_refused(index: int, count: int, where: str) -> None:
    with pytest.raises(SweepRefused) as refused:
        Shard(index, count)
    assert refused.value.codes == ["invalid-shard"]
    assert refused.value.problems[0].loc == (where,)
    assert refused.value.problems[0].hint
