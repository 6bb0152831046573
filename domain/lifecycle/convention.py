"""Rule 18: the convention. The line's funder records it once, any time after acceptance;
with `convention: required` in the programme, what falls due before it is held
(`holds.hold_of`) and released at the instant it is recorded, in the order it fell due."""

from __future__ import annotations

from datetime import datetime

from domain import commands as c
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle.context import Context, known_line, require_open
from domain.lifecycle.line_events import emit_on_line
from domain.lifecycle.releases import release_unheld
from domain.line_records import Convention


def record_convention(ctx: Context, cmd: c.RecordConvention, now: datetime) -> None:
    s = ctx.state
    if s.rules_version < 3:
        raise Conflict(
            f"cooperation {s.id!r} runs under rules {s.rules_version}, which do not know "
            "conventions (rules 3 do)"
        )
    require_open(s, "record a convention")
    line = known_line(s, cmd.line)
    if not (cmd.by.role == "funder" and cmd.by.id == line.funder):
        raise Forbidden(
            f"{cmd.by.role} {cmd.by.id!r} may not record the convention of line {line.id!r}: "
            f"its funder ({line.funder}) does",
            "by",
        )
    if line.status != "active":
        raise Conflict(
            f"line {line.id!r} is {line.status}: its convention is recorded once it is accepted"
        )
    if line.convention is not None:
        raise Conflict(
            f"the convention of line {line.id!r} is already recorded (reference "
            f"{line.convention.reference!r}, signed on {line.convention.signed_on.isoformat()})"
        )
    if cmd.signed_on > now.date():
        raise InvalidInput(
            f"{cmd.signed_on.isoformat()} is later than today ({now.date().isoformat()}): a "
            "convention is recorded once signed",
            "signed_on",
        )
    if cmd.ends_on is not None and cmd.ends_on < cmd.signed_on:
        raise InvalidInput(
            f"{cmd.ends_on.isoformat()} is before the signature ({cmd.signed_on.isoformat()})",
            "ends_on",
        )
    line.convention = Convention(
        reference=cmd.reference, signed_on=cmd.signed_on, ends_on=cmd.ends_on, recorded_at=now
    )
    emit_on_line(
        ctx,
        "ConventionSigned",
        now,
        line,
        reference=cmd.reference,
        signed_on=cmd.signed_on.isoformat(),
        ends_on=cmd.ends_on.isoformat() if cmd.ends_on is not None else None,
    )
    # Rule 5 still holds while paused: what the convention frees is released at resume.
    release_unheld(ctx, now)
