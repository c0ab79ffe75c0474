"""The pages' templates: one jinja2 environment over ``templates/``, and how pages write a day.

Autoescaped (user text is always escaped), strict (a name a template misspells is an
error, not an empty string), compiled once and never reloaded: the templates ship with
the package and do not change under a running server, so no page pays for a look at
the file system (an ``include`` in a loop of 200 rows would stat its file 200 times).

Not here: each kind of page's headers (``unsubscribe``, ``customer``, ``team.pages``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Final

import jinja2

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day_words(value: date) -> str:
    """A day as the pages write it, whatever the server's locale: ``Mon 7 Dec 2026``."""
    return f"{_WEEKDAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def page_templates(*, day: Callable[[date | None], str] | None = None) -> jinja2.Environment:
    """A new environment of the pages' templates, with ``day`` as its ``|day`` filter (callers keep one each)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("onboarding.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    if day is not None:
        environment.filters["day"] = day
    return environment
