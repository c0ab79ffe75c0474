"""The PNG reader the browser tests use: every row filter decodes back to the pixels written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.adapters.email.png import read_png, write_png


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_every_row_filter_reads_back(tmp_path: Path, channels: int) -> None:
    width = 13
    rows = [hashlib.shake_256(f"{channels}:{y}".encode()).digest(width * channels) for y in range(10)]
    filters = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]
    write_png(tmp_path / "image.png", rows, width=width, channels=channels, filters=filters)
    image = read_png(tmp_path / "image.png")
    assert (image.width, image.height, image.channels) == (width, 10, channels)
    assert image.rows == rows
    assert sum(image.pixels().values()) == width * 10


def test_what_is_not_a_png_is_refused(tmp_path: Path) -> None:
    (tmp_path / "not.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="not a PNG"):
        read_png(tmp_path / "not.png")
