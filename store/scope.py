"""Which cooperations a subject may see, as SQL on `cooperations c`: the one statement of the
scope rules, used by the API's reads (a `$n` parameter) and by the webhook fan-out (a
subscription's owner column), so that a subscriber never receives what it could not read."""

from __future__ import annotations

from store.tokens import Role


def cooperations_of(role: Role, subject: str) -> str:
    """The condition for `role`'s cooperations; `subject` is SQL (a parameter or a column).

    A facilitator sees those it accompanies or hosts; a funder those it funds (containment
    rather than `= ANY`: the GIN index on funders serves it); a collective its own."""
    if role == "collective":
        return f"c.id = {subject}"
    if role == "facilitator":
        return f"(c.facilitator = {subject} OR c.fiscal_host = {subject})"
    return f"c.funders @> ARRAY[{subject}]::text[]"
