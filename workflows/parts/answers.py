"""What the workflow answers: the request ids it remembers (a window carried across
continue-as-new) and the latest events, so that a repeated request is answered again rather
than applied twice; an answer beyond the window is kept in PostgreSQL with its events."""

from __future__ import annotations

from collections.abc import Callable

from activities.models import Answered
from domain.events import Event
from domain.views import CooperationSummary
from workflows.models import CommandAnswer, CommandRequest, CooperationInput, Remembered
from workflows.parts.courier import Delivery
from workflows.shell import ANSWER_WINDOW, RECENT_EVENTS


class Answers:
    def __init__(self, start: CooperationInput, view: Callable[[], CooperationSummary]) -> None:
        self._seqs: dict[str, tuple[int, int]] = {
            request_id: (seen.first_seq, seen.last_seq)
            for request_id, seen in start.remembered.items()
        }
        """The request ids remembered, each with (first_seq, last_seq): a pair rather than a
        model each (up to ANSWER_WINDOW of them in every cached workflow)."""
        for request_id, old in start.answers.items():
            self._seqs[request_id] = _range(old.events)
        self.whole: dict[str, CommandAnswer] = dict(start.answers)
        """Shape 1: whole answers to the latest request ids."""
        self.recent: list[Event] = list(start.recent_events)
        self._view = view

    @property
    def remembered(self) -> dict[str, Remembered]:
        """What the next run is given to remember (`CooperationInput.remembered`)."""
        return {
            request_id: Remembered(first_seq=first, last_seq=last)
            for request_id, (first, last) in self._seqs.items()
        }

    def knows(self, request: CommandRequest) -> bool:
        return bool(request.request_id) and request.request_id in self._seqs

    def record(self, events: list[Event]) -> None:
        if events:
            self.recent = (self.recent + events)[-RECENT_EVENTS:]

    def remember(self, request_id: str, events: list[Event]) -> None:
        self._seqs[request_id] = _range(events)

    def answer(
        self, request: CommandRequest, events: list[Event], last: Delivery | None
    ) -> CommandAnswer:
        """The answer to a decided command; `last` is the courier's latest delivery."""
        first = events[0].seq if events else 0
        last_seq = events[-1].seq if events else 0
        if request.request_id:
            self.remember(request.request_id, events)
            while len(self._seqs) > ANSWER_WINDOW:
                self._seqs.pop(next(iter(self._seqs)))
            if last is not None:
                self.keep(request, last, events)
        return CommandAnswer(events=events, state=self._view(), first_seq=first, last_seq=last_seq)

    def keep(self, request: CommandRequest, delivery: Delivery, events: list[Event]) -> None:
        """The answer kept in PostgreSQL with its events (store/answers.py), for a request
        repeated beyond the window of `remembered`: handed to the delivery that carries the
        command's last event, while the courier has not taken it (no await since the
        decision was adopted)."""
        if not request.request_id or not events or delivery.done:
            return
        if not any(e.seq == events[-1].seq for e in delivery.request.events):
            return
        delivery.request.answered.append(
            Answered(
                request_id=request.request_id,
                first_seq=events[0].seq,
                last_seq=events[-1].seq,
            )
        )

    def repeated(self, request: CommandRequest) -> CommandAnswer | None:
        if not request.request_id or request.request_id not in self._seqs:
            return None
        first, last = self._seqs[request.request_id]
        events = [e for e in self.recent if first <= e.seq <= last]
        return CommandAnswer(
            events=events, state=self._view(), first_seq=first, last_seq=last, repeated=True
        )


def _range(events: list[Event]) -> tuple[int, int]:
    return (events[0].seq, events[-1].seq) if events else (0, 0)
