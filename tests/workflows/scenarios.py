"""Scenarios of several years for the workflow tests, in the scenario format of DESIGN.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from examples import sample_phase, sample_programme, sample_tranche

HERE = Path(__file__).resolve().parent


def multi_year() -> dict[str, Any]:
    """Three years of a cooperation: late check-ins, a pause, a pivot, an advance, a restart
    and a re-advance, a repeat tranche for coordination."""
    months = [1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 15, 18]
    steps: list[dict[str, Any]] = []
    for n, m in enumerate(months, start=1):
        steps.append({"at": f"P{m}M", "check_in": {"indicators": {"participants": 10 + m}}})
        steps.append({"at": f"P{m}M2D", "review": {"id": f"ci-{n}", "decision": "accepted"}})
    steps += [
        {"at": "P3M10D", "pause": {"reason": "hiver"}},
        {"at": "P5M10D", "resume": {}},
        {"at": "P9M", "pivot": {"objectives": "jardin partagé", "reason": "nouveau terrain"}},
        {"at": "P14M", "advance": {}},
        {"at": "P20M", "restart": {"to": "emergence", "reason": "départ d'un membre"}},
        {"at": "P24M", "advance": {}},
        {"at": "P26M", "request": {"action": "pause", "reason": "été"}},
    ]
    steps.sort(key=lambda s: _months(s["at"]))
    return {
        "start": "2027-01-31",
        "programmes": [
            sample_programme(
                drop={"requires_lead"},
                name="Coopérations 2027",
                phases={
                    "emergence": sample_phase(
                        "emergence",
                        tranches=[
                            sample_tranche("amorcage"),
                            sample_tranche("emergence-2"),
                            {
                                "id": "six-mois",
                                "amount": "5000.00",
                                "purpose": "operating",
                                "when": {"elapsed": "P6M"},
                            },
                        ],
                    ),
                    "experimentation": sample_phase(
                        "experimentation",
                        tranches=[
                            sample_tranche("experimentation-1"),
                            sample_tranche("coordination", repeat={"every": "P1Y", "times": 2}),
                        ],
                    ),
                },
            )
        ],
        "cooperation": {
            "id": "ruche",
            "name": "Ruche Éphémère",
            "kind": "non_modelled",
            "economic_model": "hybrid",
            "members": [
                {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
                {"id": "jardiniers", "name": "Jardiniers du lundi", "legal_form": "informal"},
            ],
            "fiscal_host": "pole-107",
            "facilitator": "pole-107",
            "funding_lines": ["coop-2027"],
        },
        "steps": steps,
        "until": "P36M",
    }


def _months(offset: str) -> tuple[int, int]:
    body = offset.removeprefix("P")
    months, _, rest = body.partition("M")
    return int(months), int(rest.removesuffix("D") or 0)


def loan() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((HERE / "loan.yaml").read_text(encoding="utf-8"))
    return loaded
