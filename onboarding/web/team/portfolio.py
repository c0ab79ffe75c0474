"""The portfolio (``/team/portfolio``): every project, filtered, sorted, a page at a time."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["team pages"], include_in_schema=False)
