"""The one way the application's Jinja templates are set up (pages, e-mails, reports): strict
about missing values, blocks trimmed, HTML autoescaped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def environment(
    package: str,
    *,
    escape_strings: bool,
    keep_trailing_newline: bool = False,
    finalize: Callable[..., Any] | None = None,
) -> Environment:
    """The templates of `package`'s `templates/` folder; `escape_strings` autoescapes
    templates made from strings too, `finalize` sees every `{{ … }}` first."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=escape_strings
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
        finalize=finalize,
    )
