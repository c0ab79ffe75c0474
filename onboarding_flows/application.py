"""The flows' one ``Application`` per process, from the settings in the environment.

A flow never makes a database: a scheduled run started where there is none says so
(``database-not-found``). Tests that change the environment between runs clear it
(``application.cache_clear()``) along with the services built on it.
"""

from __future__ import annotations

from functools import cache

from onboarding.bootstrap import Application


@cache
def application() -> Application:
    return Application(create=False)
