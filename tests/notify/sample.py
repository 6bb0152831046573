"""Half a year of a cooperation with two funding lines, as the event log records it: the
report of line `fdt` is built from it (domain/report_content.py) and rendered in both locales
against the expected files. Line `reg`'s money and angle must never show in it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.programme import ProgrammeSpec

START = datetime(2027, 1, 4, tzinfo=UTC)
END = datetime(2027, 7, 4, tzinfo=UTC)

# What only line `reg`'s funder may read: none of it may appear in line `fdt`'s report.
OTHER_LINE_SECRETS = ("77777", "77 777", "77,777", "ANGLE RÉGION CONFIDENTIEL", "reg-only")

PROGRAMME = ProgrammeSpec.model_validate(
    {
        "id": "fdt",
        "name": "Fonds des territoires",
        "funder": "fondation",
        "currency": "EUR",
        "budget": "500000.00",
        "locale": "fr",
        "phases": {
            "emergence": {
                "check_in_every": "P1M",
                "report_every": "P6M",
                "tranches": [
                    {
                        "id": "amorcage",
                        "amount": "8000.00",
                        "purpose": "animation",
                        "when": "entry",
                    },
                    {
                        "id": "emergence-2",
                        "amount": "7000.00",
                        "purpose": "animation",
                        "when": {"accepted_check_ins": 1},
                    },
                    {
                        "id": "pret",
                        "amount": "20000.00",
                        "purpose": "investment",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.02",
                                "grace": "P0D",
                                "term": "P6M",
                                "installment_every": "P1M",
                            }
                        },
                        "when": "approval",
                    },
                    {
                        "id": "atelier",
                        "amount": "6000.00",
                        "purpose": "operating",
                        "when": {"elapsed": "P4M"},
                    },
                ],
            }
        },
    }
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _line(line: str, funder: str, amount: str, angle: dict[str, Any]) -> dict[str, Any]:
    return {
        "line": line,
        "programme": line,
        "version": 1,
        "funder": funder,
        "amount": amount,
        "currency": "EUR",
        "allocation": [{"payee": "pole-107", "share": "1"}],
        "angle": angle,
    }


def _release(line: str, tranche: str, purpose: str, amount: str, kind: str = "release") -> dict:
    return {
        "line": line,
        "programme": line,
        "tranche": tranche,
        "phase": "emergence",
        "purpose": purpose,
        "kind": kind,
        "amount": amount,
        "currency": "EUR",
        "parts": [{"payee": "pole-107", "amount": amount}],
    }


def _installment(number: int, due: str, principal: str, interest: str, paid: str) -> dict:
    return {
        "line": "fdt",
        "tranche": "pret",
        "installment": number,
        "due": due,
        "principal": principal,
        "interest": interest,
        "paid": paid,
        "currency": "EUR",
    }


_LOG: list[tuple[str, str, dict[str, Any]]] = [
    (
        "2027-01-04",
        "CooperationRegistered",
        {
            "cooperation": "ressourcerie",
            "kind": "non_modelled",
            "economic_model": "hybrid",
            "members": [
                {"id": "habitants", "legal_form": "informal", "informal": True},
                {"id": "mairie", "legal_form": "local_authority", "informal": False},
                {"id": "repair-cafe", "legal_form": "association", "informal": False},
            ],
            "fiscal_host": "pole-107",
            "facilitator": "anim-territoire",
            "start_phase": "emergence",
        },
    ),
    (
        "2027-01-04",
        "FundingLineAttached",
        _line(
            "fdt",
            "fondation",
            "41000.00",
            {
                "summary": "Une ressourcerie tenue par ses habitants : réparer & réemployer "
                "<ensemble>, sans *chef* de file.",
                "indicators": ["objets réparés", "bénévoles actifs", "tonnes évitées"],
                "members": ["repair-cafe"],
            },
        ),
    ),
    (
        "2027-01-04",
        "FundingLineAttached",
        _line("reg", "region", "99000.00", {"summary": "ANGLE RÉGION CONFIDENTIEL"}),
    ),
    ("2027-01-04", "PhaseEntered", {"phase": "emergence", "stint": 1}),
    ("2027-01-04", "TrancheReleased", _release("fdt", "amorcage", "animation", "8000.00")),
    ("2027-01-04", "TrancheReleased", _release("reg", "reg-only", "animation", "77777.00")),
    (
        "2027-02-01",
        "CheckInSubmitted",
        {
            "check_in": "ci-1",
            "stint": 1,
            "phase": "emergence",
            "period": 1,
            "indicators": {"objets réparés": 40, "bénévoles actifs": 6, "heures d'ouverture": 12.5},
        },
    ),
    (
        "2027-02-03",
        "CheckInReviewed",
        {"check_in": "ci-1", "stint": 1, "period": 1, "decision": "accepted"},
    ),
    ("2027-02-03", "TrancheReleased", _release("fdt", "emergence-2", "animation", "7000.00")),
    (
        "2027-03-01",
        "CheckInSubmitted",
        {
            "check_in": "ci-2",
            "stint": 1,
            "phase": "emergence",
            "period": 2,
            "indicators": {"objets réparés": 10},
        },
    ),
    (
        "2027-03-02",
        "CheckInSubmitted",
        {
            "check_in": "ci-3",
            "stint": 1,
            "phase": "emergence",
            "period": 2,
            "replaces": "ci-2",
            "indicators": {"objets réparés": 1255, "bénévoles actifs": 7},
        },
    ),
    (
        "2027-03-05",
        "CheckInReviewed",
        {"check_in": "ci-3", "stint": 1, "period": 2, "decision": "changes_requested"},
    ),
    (
        "2027-04-18",
        "CheckInOverdue",
        {"stint": 1, "phase": "emergence", "period": 3, "due": "2027-04-04T00:00:00Z"},
    ),
    (
        "2027-04-20",
        "MemberJoined",
        {"id": "epicerie", "legal_form": "cooperative", "informal": False},
    ),
    ("2027-04-22", "MemberLeft", {"member": "mairie"}),
    (
        "2027-05-02",
        "TrancheApproved",
        {"line": "fdt", "tranche": "pret", "by_role": "funder", "by": "fondation"},
    ),
    ("2027-05-02", "TrancheReleased", _release("fdt", "pret", "investment", "20000.00", "loan")),
    ("2027-05-04", "TrancheReleased", _release("fdt", "atelier", "operating", "6000.00")),
    ("2027-05-10", "Paused", {"phase": "emergence", "reason": "travaux du local"}),
    ("2027-06-01", "Resumed", {"phase": "emergence", "paused_since": "2027-05-10T00:00:00Z"}),
    (
        "2027-06-01",
        "Pivoted",
        {
            "phase": "emergence",
            "objectives": "Ouvrir un atelier vélo",
            "reason": "demande du quartier",
        },
    ),
    (
        "2027-06-02",
        "LoanInstallmentDue",
        _installment(1, "2027-06-02", "3333.33", "33.97", "0.00"),
    ),
    (
        "2027-06-10",
        "RepaymentRecorded",
        {
            "line": "fdt",
            "tranche": "pret",
            "amount": "1000.00",
            "currency": "EUR",
            "installments": [
                {
                    "installment": 1,
                    "amount": "1000.00",
                    "interest": "33.97",
                    "principal": "966.03",
                }
            ],
            "outstanding": "19117.63",
            "settled": False,
        },
    ),
    ("2027-06-15", "TrancheReleased", _release("reg", "reg-only-2", "investment", "77777.00")),
    (
        "2027-07-02",
        "LoanInstallmentDue",
        _installment(2, "2027-07-02", "3333.33", "27.40", "0.00"),
    ),
    (
        "2027-07-02",
        "LoanInstallmentOverdue",
        {**_installment(1, "2027-06-02", "3333.33", "33.97", "1000.00"), "owed": "2367.30"},
    ),
    (
        "2027-07-04",
        "ReportIssued",
        {
            "line": "fdt",
            "programme": "fdt",
            "period": 1,
            "start": "2027-01-04T00:00:00Z",
            "end": "2027-07-04T00:00:00Z",
            "final": False,
            "locale": "fr",
        },
    ),
]


def events() -> list[dict[str, Any]]:
    """The log as `SELECT seq, type, at, data FROM events` gives it."""
    return [
        {"seq": seq, "type": kind, "at": _at(day), "data": data}
        for seq, (day, kind, data) in enumerate(_LOG, start=1)
    ]
