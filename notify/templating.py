"""The templates of e-mails and reports (`notify/templates/`), and what makes user text safe
in each output.

Escaping belongs to the output, not to the data: the HTML templates autoescape, the Markdown
templates escape what Markdown would read as markup (`markdown_text`, on every `{{ … }}`),
plain text is left as it is. So the views given to them hold plain strings, user text
included.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from i18n import environment

_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
# Within a word (an id such as `pret_patient`) `_` is never emphasis: left as it is there.
_MARKDOWN_UNDERSCORE = re.compile(r"(?<!\w)_|_(?!\w)")
# What opens a block at the start of a line: a heading, a list item, a setext underline.
_MARKDOWN_BLOCK_MARK = re.compile(r"^(#{1,6}|[-+=])(?=\s|$)")
_MARKDOWN_NUMBERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


# Breaks and spaces that end or spread a line, not the no-break spaces Babel puts in amounts.
_LINE_BREAKING = re.compile(r"[\t\n\v\f\r \x85\u2028\u2029]+")


def one_line(text: str) -> str:
    return _LINE_BREAKING.sub(" ", text).strip()


def markdown_text(value: Any) -> str:
    """User text made inert in Markdown: on one line (so it cannot break a table or start a
    block), with the characters Markdown reads as markup escaped (`<` included, so a viewer
    that turns Markdown into HTML never meets a tag)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(value)))
    text = _MARKDOWN_UNDERSCORE.sub(r"\\_", text)
    text = _MARKDOWN_BLOCK_MARK.sub(r"\\\1", text)
    return _MARKDOWN_NUMBERED.sub(r"\1\\\2", text)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    # Markdown's autoescape: every `{{ … }}` of a `.md` template. HTML templates have Jinja's
    # own, and plain text needs none.
    if context.name is not None and context.name.endswith(".md"):
        return markdown_text(value)
    return value


ENV = environment("notify", escape_strings=False, keep_trailing_newline=True, finalize=_finalize)
