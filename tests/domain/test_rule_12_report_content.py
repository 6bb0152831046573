"""Rule 12: what a funder's report shows, built from the event log alone
(domain/report_content.py). The shared parts (check-ins and their indicators, members, moves)
and the funder's own line (its releases, commitment and loans), never another line's; the
period is (start, end], the first one holding what came with the line's attachment.

Every expectation is worked out by hand from the log each test writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.programme import ProgrammeSpec
from domain.report_content import build_report
from tests.domain.helpers import loan, phase, programme

START = datetime(2027, 1, 4, tzinfo=UTC)
END = datetime(2027, 4, 4, tzinfo=UTC)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def log(*entries: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The event log's rows, numbered in order."""
    return [
        {"seq": seq, "type": kind, "at": _at(day), "data": data}
        for seq, (day, kind, data) in enumerate(entries, start=1)
    ]


def registered(*members: str) -> tuple[str, str, dict[str, Any]]:
    return (
        "2027-01-04",
        "CooperationRegistered",
        {
            "members": [{"id": m, "legal_form": "association", "informal": False} for m in members],
            "fiscal_host": "pole",
            "facilitator": "anim",
        },
    )


def attached(
    line: str, amount: str, day: str = "2027-01-04", **angle: Any
) -> tuple[str, str, dict[str, Any]]:
    return (
        day,
        "FundingLineAttached",
        {
            "line": line,
            "programme": line,
            "version": 1,
            "funder": f"funder-{line}",
            "amount": amount,
            "currency": "EUR",
            "angle": {"summary": f"angle of {line}", **angle},
        },
    )


def released(
    day: str, line: str, tranche: str, amount: str, purpose: str = "animation", **more: Any
) -> tuple[str, str, dict[str, Any]]:
    data = {"line": line, "tranche": tranche, "purpose": purpose, "amount": amount}
    return (day, "TrancheReleased", {**data, "phase": "emergence", **more})


def test_rule_12_a_report_shows_the_shared_parts_and_its_own_line_never_another() -> None:
    events = log(
        registered("asso"),
        attached("fdt", "10000.00"),
        attached("reg", "99000.00"),
        ("2027-01-04", "PhaseEntered", {"phase": "emergence", "stint": 1}),
        released("2027-01-04", "fdt", "entry", "1000.00"),
        released("2027-01-04", "reg", "secret", "77777.00"),
        released("2027-02-10", "fdt", "kit", "500.00", purpose="investment"),
        released("2027-02-10", "fdt", "rent", "250.00", purpose="operating"),
        ("2027-03-01", "CheckInSubmitted", {"check_in": "ci-1", "period": 1, "indicators": {}}),
    )
    report = build_report("ruche", "fdt", START, END, events, name="Ruche")

    assert (report["line"], report["funder"], report["currency"]) == ("fdt", "funder-fdt", "EUR")
    assert report["angle"]["summary"] == "angle of fdt"
    # Only fdt's releases: entry 1000 (animation), 500 investment and 250 operating.
    assert [i["tranche"] for i in report["releases"]["items"]] == ["entry", "kit", "rent"]
    assert report["releases"]["by_purpose"] == {
        "animation": "1000.00",
        "investment": "500.00",
        "operating": "250.00",
    }
    assert report["releases"]["total"] == "1750.00"
    assert report["commitment"] == {"committed": "10000.00", "released": "1750.00", "freed": "0.00"}
    # The shared parts are everyone's: the check-in, the member, the phase entered.
    assert report["check_ins"]["submitted"] == 1
    assert [m["id"] for m in report["members"]] == ["asso"]
    assert [m["type"] for m in report["moves"]] == ["PhaseEntered"]
    assert "77777" not in repr(report) and "angle of reg" not in repr(report)


def test_rule_12_the_period_is_start_exclusive_except_what_came_with_the_attachment() -> None:
    events = log(
        registered("asso"),
        released("2027-01-04", "fdt", "before", "1.00"),
        attached("fdt", "10000.00"),
        released("2027-01-04", "fdt", "entry", "1000.00"),
        released("2027-04-04", "fdt", "on-the-end", "2.00"),
        released("2027-04-05", "fdt", "after", "3.00"),
    )
    first = build_report("ruche", "fdt", START, END, events)
    # At the attachment's instant: only what came from the attachment on; the end is in.
    assert [i["tranche"] for i in first["releases"]["items"]] == ["entry", "on-the-end"]

    later = build_report("ruche", "fdt", END, _at("2027-07-04"), events)
    # A later period starting on the same instant as its predecessor's end leaves it out.
    assert [i["tranche"] for i in later["releases"]["items"]] == ["after"]


def test_rule_12_check_ins_have_their_status_at_the_end_and_replaced_values_are_superseded() -> (
    None
):
    events = log(
        registered("asso"),
        attached("fdt", "10000.00", indicators=["repaired", "volunteers"]),
        ("2027-02-01", "CheckInSubmitted", {"check_in": "a", "indicators": {"repaired": 4}}),
        ("2027-02-02", "CheckInReviewed", {"check_in": "a", "decision": "accepted"}),
        ("2027-03-01", "CheckInSubmitted", {"check_in": "b", "indicators": {"repaired": 99}}),
        (
            "2027-03-02",
            "CheckInSubmitted",
            {"check_in": "c", "replaces": "b", "indicators": {"repaired": 7, "hours": 3}},
        ),
        ("2027-03-03", "CheckInReviewed", {"check_in": "c", "decision": "changes_requested"}),
        ("2027-03-20", "CheckInOverdue", {"period": 4, "phase": "emergence", "due": "2027-03-20"}),
    )
    part = build_report("ruche", "fdt", START, END, events)["check_ins"]
    assert [(i["check_in"], i["status"]) for i in part["items"]] == [
        ("a", "accepted"),
        ("b", "replaced"),
        ("c", "changes_requested"),
    ]
    assert (part["submitted"], part["accepted"], part["changes_requested"]) == (3, 1, 1)
    assert part["overdue"] == 1 and part["overdue_periods"][0]["period"] == 4

    indicators = build_report("ruche", "fdt", START, END, events)["indicators"]
    # The angle's indicators first, in its order, even unreported; b's 99 replaced by c's 7.
    assert [(i["name"], i["featured"], [v["value"] for v in i["values"]]) for i in indicators] == [
        ("repaired", True, [4, 7]),
        ("volunteers", True, []),
        ("hours", False, [3]),
    ]


def test_rule_12_members_at_the_end_the_angles_first_with_who_joined_and_left() -> None:
    events = log(
        registered("asso", "mairie", "cafe"),
        attached("fdt", "10000.00", members=["cafe"]),
        ("2027-02-01", "MemberJoined", {"id": "scop", "legal_form": "scop", "informal": False}),
        ("2027-03-01", "MemberLeft", {"member": "mairie"}),
        ("2027-03-10", "Paused", {"reason": "winter"}),
    )
    report = build_report("ruche", "fdt", START, END, events)
    assert [(m["id"], m["featured"], m["joined"]) for m in report["members"]] == [
        ("cafe", True, False),
        ("asso", False, False),
        ("scop", False, True),
    ]
    assert report["members_left"] == ["mairie"]
    assert report["paused"] is True
    assert (report["fiscal_host"], report["facilitator"]) == ("pole", "anim")


def test_rule_12_a_loan_shows_what_was_repaid_what_is_overdue_and_what_comes_next() -> None:
    terms = {"annual_rate": "0", "grace": "P0D", "term": "P3M", "installment_every": "P1M"}
    spec = ProgrammeSpec.model_validate(
        programme("fdt", phases={"emergence": phase([loan("pret", "1200.00", **terms)])})
    )
    due = {"line": "fdt", "tranche": "pret", "principal": "400.00", "interest": "0.00"}
    events = log(
        registered("asso"),
        attached("fdt", "1200.00"),
        released("2027-01-04", "fdt", "pret", "1200.00", purpose="investment", kind="loan"),
        ("2027-02-04", "LoanInstallmentDue", {**due, "installment": 1, "due": "2027-02-04"}),
        (
            "2027-02-06",
            "RepaymentRecorded",
            {
                "line": "fdt",
                "tranche": "pret",
                "amount": "400.00",
                "installments": [{"installment": 1, "amount": "400.00"}],
                "outstanding": "800.00",
            },
        ),
        ("2027-03-04", "LoanInstallmentDue", {**due, "installment": 2, "due": "2027-03-04"}),
        ("2027-03-19", "LoanInstallmentOverdue", {**due, "installment": 2, "due": "2027-03-04"}),
    )
    end = _at("2027-03-20")
    loans = build_report("ruche", "fdt", START, end, events, programme=spec)["loans"]
    (item,) = loans["items"]
    assert (item["installments"], item["installments_due"], item["due_amount"]) == (3, 2, "800.00")
    assert (item["repaid"], item["outstanding"], item["settled"]) == ("400.00", "800.00", False)
    assert item["overdue"] == [{"installment": 2, "due": "2027-03-04", "owed": "400.00"}]
    # Three monthly installments from 01-04: the third, due 04-04, is the next after 03-20.
    assert item["next"] == {"installment": 3, "due": "2027-04-04", "amount": "400.00"}
    assert (loans["repaid"], loans["overdue"]) == ("400.00", "400.00")
