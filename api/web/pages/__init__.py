"""The web interface's pages, a module for each role's: every read and every action is a call
of the JSON API (api/web/client.py) with the session's token, so what a page shows and what it
may do are the API's answers, rules and refusals included; these modules only turn forms into
API bodies and answers into pages.

- signin: the way in, for everyone (home, sign-in, links, language, sign-out);
- cooperation: what every role in a cooperation's scope reads (its page, a check-in, a report);
- collective, facilitator, funder: each role's own pages and actions; graduation: the
  facilitator's members and rule 20's graduation; registration: the facilitator's form that
  registers a cooperation;
- contacts: a subject's own contact addresses (the collective's, from its menu);
- setup: the funder's set-up (programme form, YAML, budget, loans); versions: a programme's
  versions and what changed; webhooks: the funder's webhooks;
- common: what they share (sessions, forms, reads made at once).

Routes whose paths overlap keep their order: a cooperation's check-in page (GET) comes before
the facilitator's review of it (POST, the same path), so the router answers as it always has."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.pages import (
    collective,
    contacts,
    cooperation,
    facilitator,
    funder,
    graduation,
    registration,
    setup,
    signin,
    versions,
    webhooks,
)
from api.web.pages.common import SignInNeeded

router = APIRouter(include_in_schema=False)
for _pages in (
    signin,
    cooperation,
    collective,
    facilitator,
    graduation,
    registration,
    funder,
    setup,
    versions,
    webhooks,
    contacts,
):
    router.include_router(_pages.router)

__all__ = ["SignInNeeded", "router"]
