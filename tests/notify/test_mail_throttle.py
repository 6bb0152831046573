"""E-mails per address, on PostgreSQL and a real SMTP server: an address gets at most one
e-mail an hour about one cooperation and one event type; what comes within the hour goes in
its digest for that cooperation once the hour is over, and the digest starts the hour again.
The outbox is run with its clock moved forward (`now`), never by waiting an hour."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from domain.programme import ProgrammeSpec
from notify import outbox
from notify.mail import Mailer
from runtime.localstack import free_port
from store import mails
from store.programmes import put_programme
from tests.api.conftest import programme
from tests.web.smtp_mailbox import Mail, Mailbox, mailbox_serving

pytestmark = [pytest.mark.integration]

GIVE_UP = timedelta(hours=24)
FACILITATOR = ("facilitator", "pole-107")
EQUIPE = "equipe@pole107.example"
ASTREINTE = "astreinte@pole107.example"


@pytest_asyncio.fixture
async def box() -> AsyncIterator[Mailbox]:
    async with mailbox_serving() as mailbox:
        yield mailbox


def mailer(box: Mailbox) -> Mailer:
    return Mailer(box.url, "coopflow <noreply@coopflow.test>")


async def notify(
    pool: asyncpg.Pool,
    seq: int,
    about: str = "CheckInSubmitted",
    coop: str = "ruche",
    to: tuple[str, str] = FACILITATOR,
) -> None:
    """An event of `coop` and its notification, as the projection writes them."""
    data: dict[str, Any] = {"check_in": f"ci-{seq}", "phase": "emergence", "period": seq}
    if about == "TransitionRequested":
        data = {"action": "pause", "reason": f"raison {seq}", "request": f"rq-{seq}"}
    if about == "TrancheReleased":
        data = {"line": "fdt-9db4b9", "tranche": f"t-{seq}", "amount": "8000.00", "currency": "EUR"}
        data |= {"purpose": "animation", "phase": "emergence"}
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (cooperation_id, seq, type, at, data)"
            " VALUES ($1, $2, $3, now(), $4)",
            coop,
            seq,
            about,
            data,
        )
        await conn.execute(
            "INSERT INTO notifications (key, cooperation_id, to_role, to_subject, about, seq)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            f"{coop}:{seq}:{to[0]}:{to[1]}",
            coop,
            to[0],
            to[1],
            about,
            seq,
        )


async def contacts(pool: asyncpg.Pool, *emails: str, who: tuple[str, str] = FACILITATOR) -> None:
    async with pool.acquire() as conn:
        await mails.put_contacts(conn, who[0], who[1], list(emails))


async def clock(pool: asyncpg.Pool) -> datetime:
    async with pool.acquire() as conn:
        now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return now


async def run(pool: asyncpg.Pool, send: Mailer, now: datetime) -> None:
    """The outbox at `now`, until it has nothing more to do."""
    for _ in range(50):
        if await outbox.deliver_emails(pool, send, GIVE_UP, now=now) == 0:
            return
    raise AssertionError("the outbox never ran out of work")


def to(box: Mailbox, address: str) -> list[Mail]:
    return [m for m in box.messages if address in m.to]


def periods(mail: Mail) -> list[int]:
    """The check-in periods an e-mail tells of, each as its own e-mail's sentence says."""
    return [int(p) for p in re.findall(r"point d'étape de la période (\d+) ;", mail.text)]


async def test_a_burst_of_one_type_is_one_email_at_once_then_one_digest_of_the_rest(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE)
    for seq in range(1, 31):
        await notify(pool, seq)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    [first] = box.messages
    assert first.to == [EQUIPE] and periods(first) == [1]

    # Within the hour nothing more goes, however often the outbox runs.
    for minutes in (1, 30, 59):
        await run(pool, mailer(box), t0 + timedelta(minutes=minutes))
    assert len(box.messages) == 1

    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    [_, digest] = box.messages
    assert digest.to == [EQUIPE]
    assert digest.subject == "ruche — 29 notifications regroupées en un courriel"
    assert sorted(periods(digest)) == list(range(2, 31))
    assert digest.html is not None and digest.html.count("<section") == 29
    for minutes in (62, 121, 24 * 60):
        await run(pool, mailer(box), t0 + timedelta(minutes=minutes))
    assert len(box.messages) == 2

    async with pool.acquire() as conn:
        notes = await conn.fetch("SELECT status, sent_to FROM notifications ORDER BY seq")
        mails = await conn.fetch(
            "SELECT status, digest_id, sent_at FROM notification_mails ORDER BY created_at"
        )
        digests = await conn.fetch("SELECT status, attempts, sent_at FROM mail_digests")
    assert notes[0]["status"] == "sent" and notes[0]["sent_to"] == [EQUIPE]
    assert {n["status"] for n in notes[1:]} == {"held"}
    assert [m["status"] for m in mails] == ["sent"] * 30
    assert mails[0]["digest_id"] is None and mails[0]["sent_at"] == t0
    [sent] = digests
    assert sent["status"] == "sent" and sent["attempts"] == 1
    assert sent["sent_at"] == t0 + timedelta(minutes=61)
    assert {(m["digest_id"], m["sent_at"]) for m in mails[1:]} == {
        (mails[1]["digest_id"], sent["sent_at"])
    }


async def test_the_digest_starts_the_hour_again(pool: asyncpg.Pool, box: Mailbox) -> None:
    await contacts(pool, EQUIPE)
    await notify(pool, 1)
    await notify(pool, 2)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    assert [periods(m) for m in box.messages] == [[1], [2]]

    # Five minutes after the digest: held, and told an hour after the digest went. Alone, it
    # is its own e-mail.
    await notify(pool, 3)
    await run(pool, mailer(box), t0 + timedelta(minutes=66))
    await run(pool, mailer(box), t0 + timedelta(minutes=120))
    assert len(box.messages) == 2
    await run(pool, mailer(box), t0 + timedelta(minutes=121))
    assert [periods(m) for m in box.messages] == [[1], [2], [3]]
    assert box.messages[2].subject.endswith("Point d'étape à valider (période 3)")

    # More than an hour after the last e-mail of that type: at once.
    await notify(pool, 4)
    await run(pool, mailer(box), t0 + timedelta(minutes=190))
    assert [periods(m) for m in box.messages][-1] == [4]


async def test_each_event_type_gets_its_own_first_email(pool: asyncpg.Pool, box: Mailbox) -> None:
    await contacts(pool, EQUIPE)
    for seq in range(1, 7):
        await notify(pool, seq, "CheckInSubmitted" if seq % 2 else "TransitionRequested")
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    subjects = sorted(m.subject for m in box.messages)
    assert len(subjects) == 2
    assert "demande une transition" in subjects[0] and "période 1" in subjects[1]

    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    [digest] = box.messages[2:]
    # Both types' hours are over: one digest tells the four others.
    assert "4 notifications" in digest.subject
    assert sorted(periods(digest)) == [3, 5]
    assert digest.text.count("Le collectif souhaite faire une pause.") == 2


async def test_each_cooperation_gets_its_own_first_email_and_digest(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE)
    for seq in (1, 2, 3):
        await notify(pool, seq, coop="ruche")
        await notify(pool, seq, coop="grange")
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    assert sorted(m.subject.split(" — ")[0] for m in box.messages) == ["grange", "ruche"]

    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    digests = box.messages[2:]
    assert sorted(m.subject.split(" — ")[0] for m in digests) == ["grange", "ruche"]
    assert all(sorted(periods(m)) == [2, 3] for m in digests)


async def test_each_address_of_a_subject_is_throttled_on_its_own(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE, ASTREINTE)
    for seq in (1, 2, 3):
        await notify(pool, seq)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    # One e-mail per address, to that address alone.
    assert sorted(tuple(m.to) for m in box.messages) == [(ASTREINTE,), (EQUIPE,)]

    # A third address of the subject: its hour has not begun, the others' has.
    benevole = "benevole@pole107.example"
    await contacts(pool, EQUIPE, ASTREINTE, benevole)
    await notify(pool, 4)
    await run(pool, mailer(box), t0 + timedelta(minutes=10))
    assert [periods(m) for m in to(box, benevole)] == [[4]]
    assert len(box.messages) == 3

    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    assert [sorted(periods(m)) for m in to(box, EQUIPE)] == [[1], [2, 3, 4]]
    assert [sorted(periods(m)) for m in to(box, ASTREINTE)] == [[1], [2, 3, 4]]
    assert len(to(box, benevole)) == 1

    # An address that is no longer a contact gets nothing more, digest included.
    await contacts(pool, EQUIPE)
    await notify(pool, 5)
    await run(pool, mailer(box), t0 + timedelta(minutes=62))
    await run(pool, mailer(box), t0 + timedelta(minutes=200))
    assert len(to(box, ASTREINTE)) == 2 and len(to(box, benevole)) == 1
    assert [sorted(periods(m)) for m in to(box, EQUIPE)][-1] == [5]


class Crash(BaseException):
    """The process dying: nothing after it runs, no handler catches it."""


class Crashing(Mailer):
    """Sends, then dies before the outbox can record that it did."""

    async def send(self, to: list[str], subject: str, text: str, html: str) -> bool:
        await super().send(to, subject, text, html)
        raise Crash


async def test_a_crash_between_sending_a_digest_and_recording_it_sends_it_once_more_after_its_lease(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE)
    for seq in (1, 2, 3):
        await notify(pool, seq)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    crashing = Crashing(box.url, "coopflow <noreply@coopflow.test>")
    due = t0 + timedelta(minutes=61)
    with pytest.raises(Crash):
        await outbox.deliver_emails(pool, crashing, GIVE_UP, now=due)
    assert [sorted(periods(m)) for m in box.messages] == [[1], [2, 3]]

    # While its lease holds, nobody sends it again.
    await run(pool, mailer(box), due + outbox.LEASE - timedelta(seconds=1))
    assert len(box.messages) == 2
    # Then it goes again, once (at least once, as every delivery), and is recorded.
    await run(pool, mailer(box), due + outbox.LEASE + timedelta(seconds=1))
    await run(pool, mailer(box), due + timedelta(hours=3))
    assert [sorted(periods(m)) for m in box.messages] == [[1], [2, 3], [2, 3]]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM mail_digests") == "sent"


async def test_a_crash_between_claim_and_record_of_an_email_leaves_it_to_be_sent_again(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE)
    await notify(pool, 1)
    await notify(pool, 2)
    t0 = await clock(pool)
    with pytest.raises(Crash):
        await outbox.deliver_emails(pool, Crashing(box.url, "x <x@coopflow.test>"), GIVE_UP, now=t0)
    await run(pool, mailer(box), t0 + timedelta(seconds=30))
    assert len(box.messages) == 1
    await run(pool, mailer(box), t0 + outbox.LEASE + timedelta(seconds=1))
    # The first notification's own e-mail again; the second still waits for the digest.
    assert [periods(m) for m in box.messages] == [[1], [1]]
    await run(pool, mailer(box), t0 + timedelta(minutes=63))
    assert [periods(m) for m in box.messages] == [[1], [1], [2]]


@contextlib.asynccontextmanager
async def refusing(address: str, box: Mailbox) -> AsyncIterator[str]:
    """An SMTP server that refuses `address`, quoting it in its answer as servers do, and
    hands what is for others to `box`."""

    class Refuse:
        async def handle_RCPT(
            self, server: SMTP, session: Session, envelope: Envelope, addr: str, options: Any
        ) -> str:
            if addr.lower() == address.lower():
                return f"550 5.1.1 <{addr}>: mailbox unavailable"
            envelope.rcpt_tos.append(addr)
            return "250 OK"

        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            return await box.handle_DATA(server, session, envelope)

    loop = asyncio.get_running_loop()
    port = free_port()
    server = await loop.create_server(
        lambda: SMTP(Refuse(), hostname="refusing.coopflow.test", loop=loop), "127.0.0.1", port
    )
    try:
        yield f"smtp+insecure://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_an_address_refused_is_tried_again_alone_and_nobody_gets_it_twice(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE, ASTREINTE)
    await notify(pool, 1)
    t0 = await clock(pool)
    async with refusing(ASTREINTE, box) as url:
        refused = Mailer(url, "coopflow <noreply@coopflow.test>")
        assert await outbox.deliver_emails(pool, refused, GIVE_UP, now=t0) == 1
    assert [m.to for m in box.messages] == [[EQUIPE]]
    async with pool.acquire() as conn:
        note = await conn.fetchrow("SELECT * FROM notifications")
        mails = await conn.fetch(
            "SELECT address, status, attempts FROM notification_mails ORDER BY address"
        )
    assert note["status"] == "pending" and note["next_attempt_at"] > t0
    assert note["sent_to"] == [EQUIPE] and ASTREINTE not in note["last_error"]
    assert [tuple(m) for m in mails] == [(ASTREINTE, "pending", 1), (EQUIPE, "sent", 1)]

    # Its retry: the refused address alone, and the other's hour is untouched by it.
    await run(pool, mailer(box), note["next_attempt_at"])
    await run(pool, mailer(box), t0 + timedelta(hours=2))
    assert sorted(tuple(m.to) for m in box.messages) == [(ASTREINTE,), (EQUIPE,)]
    async with pool.acquire() as conn:
        note = await conn.fetchrow("SELECT * FROM notifications")
    assert note["status"] == "sent" and note["attempts"] == 2
    assert sorted(note["sent_to"]) == [ASTREINTE, EQUIPE]


async def test_a_digest_not_taken_is_retried_then_given_up_and_never_names_the_address(
    pool: asyncpg.Pool, box: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    await contacts(pool, EQUIPE)
    for seq in (1, 2, 3):
        await notify(pool, seq)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    due = t0 + timedelta(minutes=61)
    with structlog.testing.capture_logs() as logs:
        async with refusing(EQUIPE, box) as url:
            refused = Mailer(url, "coopflow <noreply@coopflow.test>")
            assert await outbox.deliver_emails(pool, refused, GIVE_UP, now=due) == 1
            async with pool.acquire() as conn:
                digest = await conn.fetchrow("SELECT * FROM mail_digests")
            assert digest["status"] == "pending" and digest["attempts"] == 1
            assert digest["next_attempt_at"] > due and "550" in digest["last_error"]
            # Retried with backoff, given up once past the bounded time from its making.
            later = due + timedelta(hours=2)
            assert await outbox.deliver_emails(pool, refused, timedelta(hours=1), now=later) == 1
    async with pool.acquire() as conn:
        digest = await conn.fetchrow("SELECT * FROM mail_digests")
        held = await conn.fetch("SELECT status FROM notification_mails WHERE digest_id IS NULL")
        failed = await conn.fetchval(
            "SELECT count(*) FROM notification_mails WHERE status = 'failed'"
        )
    assert digest["status"] == "failed" and digest["attempts"] == 2
    assert failed == 2 and [h["status"] for h in held] == ["sent"]
    assert EQUIPE not in digest["last_error"] and "<address>" in digest["last_error"]
    assert [entry["status"] for entry in logs] == ["pending", "failed"]
    assert EQUIPE not in repr(logs) + capsys.readouterr().err

    # Given up, it no longer holds the hour: the next one goes at once.
    await notify(pool, 4)
    await run(pool, mailer(box), due + timedelta(hours=3))
    assert [periods(m) for m in box.messages] == [[1], [4]]


async def test_an_address_is_erased_from_every_record_of_what_it_was_sent(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    await contacts(pool, EQUIPE, ASTREINTE)
    for seq in (1, 2, 3):
        await notify(pool, seq)
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    async with pool.acquire() as conn:
        assert await mails.forget_address(conn, EQUIPE.upper()) > 0
        left = await conn.fetchval(
            "SELECT count(*) FROM ("
            " SELECT address FROM notification_mails UNION ALL"
            " SELECT address FROM mail_digests UNION ALL SELECT address FROM mail_windows"
            " UNION ALL SELECT unnest(sent_to) FROM notifications) a WHERE a.address ILIKE $1",
            EQUIPE,
        )
        others = await conn.fetchval(
            "SELECT count(*) FROM notification_mails WHERE address = $1", ASTREINTE
        )
    assert left == 0 and others == 3


async def test_processes_running_side_by_side_still_send_one_email_and_one_digest(
    pool: asyncpg.Pool, box: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One notification per claim: each process takes its own, all for the same address,
    # cooperation and type, and they decide at the same moment.
    monkeypatch.setattr(outbox, "BATCH", 1)
    await contacts(pool, EQUIPE)
    for seq in range(1, 13):
        await notify(pool, seq)
    t0 = await clock(pool)

    async def process(now: datetime) -> None:
        await run(pool, mailer(box), now)

    await asyncio.gather(*(process(t0) for _ in range(6)))
    assert len(box.messages) == 1
    await asyncio.gather(*(process(t0 + timedelta(minutes=61)) for _ in range(6)))
    assert len(box.messages) == 2
    assert sorted(periods(box.messages[0]) + periods(box.messages[1])) == list(range(1, 13))


async def test_an_email_and_its_digest_call_a_line_by_its_programmes_name(
    pool: asyncpg.Pool, box: Mailbox
) -> None:
    spec = programme("fdt-9db4b9", "fondation", name="Fonds de transition territoriale")
    async with pool.acquire() as conn:
        await put_programme(conn, ProgrammeSpec.model_validate(spec))
    await contacts(pool, EQUIPE)
    for seq in (1, 2, 3):
        await notify(pool, seq, about="TrancheReleased")
    t0 = await clock(pool)
    await run(pool, mailer(box), t0)
    await run(pool, mailer(box), t0 + timedelta(minutes=61))
    [first, digest] = box.messages
    assert "2 notifications" in digest.subject
    for mail in (first, digest):
        assert "de la ligne Fonds de transition territoriale est " in mail.text
        assert "Fonds de transition territoriale (fdt-9db4b9)" in mail.text
        assert "de la ligne fdt-9db4b9" not in mail.text
