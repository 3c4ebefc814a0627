"""Markdown written from Jinja2 templates: the reports (playbooks/reports/templates) and the drill report
(playbooks/drills/templates).

The output is Markdown, not HTML, so autoescaping is off: a template escapes every text that came from
outside itself, with the filter its report uses for that (``md``). A block tag on a line of its own
leaves no line behind (``{% endfor +%}`` keeps the line break after an inline loop), and an undefined
name is an error rather than an empty string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


def template_environment(package: str, **filters: Callable[..., Any]) -> Environment:
    """The environment for the templates in ``<package>/templates``, with ``filters`` added."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(filters)
    return env
