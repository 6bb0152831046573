"""Nobody can flood a cooperation's people with e-mail (DESIGN.md): e-mails about one
cooperation to one address are at most one per event type per hour, the rest in the next
digest. The attack: a collective checks in again and again through the HTTP API (each
submission replaces the last and notifies its facilitator) to bury the facilitator's inbox.
What it must get: one e-mail at once, then, once the hour is over, one digest telling the
others, and nothing more. The outbox is run an hour later by moving its clock (`now`)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta

import pytest

from notify import outbox
from notify.mail import Mailer
from store import mails as mail_store
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live
from tests.web.smtp_mailbox import Mail

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BURST = 30
ADDRESS = "suivi@pole107.example"


def told(mail: Mail) -> int:
    """How many check-ins an e-mail tells of, each in its own e-mail's sentence."""
    return len(re.findall(r"Le collectif a déposé son point d'étape de la période", mail.text))


async def _settled(live: Live, coop: str, count: int) -> None:
    """Until the outbox has taken up `count` check-in notifications of `coop`."""
    for _ in range(600):
        async with live.pool.acquire() as conn:
            done = await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE cooperation_id = $1"
                " AND about = 'CheckInSubmitted' AND status <> 'pending'",
                coop,
            )
        if done >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the outbox never took up {count} check-in notifications")


async def test_a_collective_checking_in_again_and_again_cannot_flood_its_facilitator(
    live_server: Live,
) -> None:
    live = live_server
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    fondation = await live.auth("funder", "fondation")
    pole = await live.auth("facilitator", "pole-107")
    collective = await live.auth("collective", coop)
    for method, path, body, who in (
        ("POST", "/v1/programmes", programme("fdt", "fondation"), fondation),
        ("POST", "/v1/cooperations", cooperation(coop, ["fdt"]), pole),
        (
            "POST",
            f"/v1/cooperations/{coop}/funding-lines/fdt/decision",
            {"accept": True},
            fondation,
        ),
    ):
        answer = await live.http.request(method, path, json=body, headers=who)
        assert answer.status_code in (200, 201), answer.text
    # The facilitator's address, confirmed (as the operator seeds it).
    async with live.pool.acquire() as conn:
        await mail_store.put_contacts(conn, "facilitator", "pole-107", [ADDRESS])

    for n in range(BURST):
        answer = await live.http.post(
            f"/v1/cooperations/{coop}/check-ins",
            json={"narrative": f"Encore un point d'étape ({n})"},
            headers=collective,
        )
        assert answer.status_code == 201, answer.text
    await _settled(live, coop, BURST)
    await asyncio.sleep(1)  # the live outbox polls every 0.2 s: another e-mail would be here
    [first] = [m for m in live.mailbox.messages if ADDRESS in m.to]
    assert first.to == [ADDRESS] and told(first) == 1

    # An hour later (the outbox's clock moved, the live loop still running on the real one):
    # one digest with the 29 others, then nothing more.
    async with live.pool.acquire() as conn:
        now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    mailer = Mailer(live.mailbox.url, live.settings.mail_from)
    give_up = timedelta(seconds=live.settings.delivery_give_up_after)
    for later in (timedelta(minutes=61), timedelta(minutes=62), timedelta(hours=3)):
        while await outbox.deliver_emails(live.pool, mailer, give_up, now=now + later):
            pass
    mails = [m for m in live.mailbox.messages if ADDRESS in m.to]
    assert len(mails) == 2
    digest = mails[1]
    assert digest.to == [ADDRESS] and f"{BURST - 1} notifications" in digest.subject
    assert told(digest) == BURST - 1
    # Each told as its own e-mail: which check-in it replaced, one after the other.
    replaced = re.findall(r"Il remplace le point d'étape (\S+), qui", digest.text)
    assert len(replaced) == len(set(replaced)) == BURST - 1
