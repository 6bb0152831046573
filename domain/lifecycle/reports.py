"""Rule 12: reports. Every report period of a funding line issues a report; periods run from
the line's attachment, each as long as the `report_every` in force when it starts; closing
issues one final report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.effects import RenderReport
from domain.events import instant
from domain.lifecycle.context import Context, Occurrence, phase_spec
from domain.lifecycle.line_events import emit_on_line, line_keys
from domain.programme import Phase
from domain.state import DEFAULT_REPORT_EVERY, CooperationState, Line


def report_every(line: Line, phase: Phase) -> str:
    spec = phase_spec(line, phase)
    return spec.report_every if spec is not None else DEFAULT_REPORT_EVERY


def report_occurrences(s: CooperationState) -> list[Occurrence]:
    if s.closed:
        return []
    return [
        Occurrence(line.report.end, (i,), _report(line.id))
        for i, line in enumerate(s.lines)
        if line.status == "active" and line.report is not None
    ]


def issue_report(ctx: Context, line: Line, end: datetime, final: bool) -> None:
    clock = line.report
    assert clock is not None
    seq = emit_on_line(
        ctx,
        "ReportIssued",
        end,
        line,
        period=clock.next_period,
        start=instant(clock.start),
        end=instant(end),
        final=final,
        locale=line.programme.spec.locale.value,
    )
    ctx.effects.append(
        RenderReport(
            **line_keys(line),
            period=clock.next_period,
            start=clock.start,
            to=end,
            final=final,
            seq=seq,
        )
    )


def _report(line_id: str) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        s = ctx.state
        line = s.line(line_id)
        assert line is not None and line.report is not None
        clock = line.report
        end = clock.end
        issue_report(ctx, line, end, final=False)
        # The next period lasts the report_every in force now, when it starts (rule 12).
        cadence = report_every(line, s.phase)
        if cadence == clock.cadence:
            clock.index += 1
        else:
            clock.anchor, clock.cadence, clock.index = end, cadence, 0
        clock.start = end
        clock.next_period += 1

    return apply
