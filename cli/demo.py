"""The demo `make run` seeds once, through the API itself, so a first run shows something:
a programme per funder, an informal collective hosted by its facilitator and co-funded by two
programmes, a modelled tiers-lieu with a patient loan; and a token per role, the same at every
start (kept in the state folder, for this machine only)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from examples import sample_programme
from store import contacts
from store.tokens import Role, create_token

FUNDERS = ("fondation-territoires", "region-cooperative", "fonds-patient")
FACILITATOR = "pole-107"
COLLECTIVE = "ressourcerie-du-bourg"
TIERS_LIEU = "tiers-lieu-des-forges"

# (role, subject): who gets a demo token.
PEOPLE: tuple[tuple[Role, str], ...] = (
    ("funder", FUNDERS[0]),
    ("funder", FUNDERS[1]),
    ("funder", FUNDERS[2]),
    ("facilitator", FACILITATOR),
    ("collective", COLLECTIVE),
    ("collective", TIERS_LIEU),
)


def _grants(pid: str, funder: str, name: str, amounts: tuple[str, str, str]) -> dict[str, Any]:
    """The sample programme (examples/) under this id, funder and name, its first three
    tranches at these amounts, without its loan: the demo's collective is paid through its
    fiscal host, who never borrows."""
    spec = sample_programme(id=pid, funder=funder, name=name)
    given = dict(zip(("amorcage", "emergence-2", "experimentation-1"), amounts, strict=True))
    for phase in spec["phases"].values():
        phase["tranches"] = [
            tranche | ({"amount": given[tranche["id"]]} if tranche["id"] in given else {})
            for tranche in phase["tranches"]
            if "instrument" not in tranche
        ]
    return spec


PROGRAMMES: dict[str, dict[str, Any]] = {
    FUNDERS[0]: _grants(
        "fondation-territoires-2027",
        FUNDERS[0],
        "Coopérations territoriales 2027",
        ("8000.00", "7000.00", "30000.00"),
    ),
    FUNDERS[1]: _grants(
        "region-cooperations",
        FUNDERS[1],
        "Région : coopérations économiques",
        ("5000.00", "5000.00", "20000.00"),
    ),
    FUNDERS[2]: {
        "id": "capital-patient",
        "name": "Capital patient des tiers-lieux",
        "funder": FUNDERS[2],
        "currency": "EUR",
        "budget": "1000000.00",
        "locale": "fr",
        "phases": {
            "experimentation": {
                "check_in_every": "P3M",
                "tranches": [
                    {
                        "id": "pret",
                        "amount": "50000.00",
                        "purpose": "investment",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.01",
                                "grace": "P24M",
                                "term": "P84M",
                                "installment_every": "P3M",
                            }
                        },
                        "when": "approval",
                    }
                ],
            }
        },
    },
}

COOPERATIONS: list[dict[str, Any]] = [
    {
        "id": COLLECTIVE,
        "name": "Ressourcerie du Bourg",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {"id": "habitants-bourg", "name": "Collectif des habitants", "legal_form": "informal"},
            {"id": "repair-cafe", "name": "Repair café du Bourg", "legal_form": "informal"},
        ],
        "fiscal_host": FACILITATOR,
        "funding_lines": [
            "fondation-territoires-2027",
            {
                "programme": "region-cooperations",
                "angle": {
                    "summary": "Réemploi et emplois locaux",
                    "indicators": ["tonnes_reemployees", "heures_benevoles"],
                },
            },
        ],
    },
    {
        "id": TIERS_LIEU,
        "name": "Tiers-lieu des Forges",
        "kind": "modelled",
        "model": "tiers-lieu",
        "economic_model": "hybrid",
        "start_phase": "experimentation",
        "members": [
            {"id": "scic-forges", "name": "SCIC des Forges", "legal_form": "scic"},
            {"id": "commune", "name": "Commune des Forges", "legal_form": "local_authority"},
        ],
        "funding_lines": [
            {
                "programme": "capital-patient",
                "allocation": [{"payee": "scic-forges", "share": "1"}],
            }
        ],
    },
]


async def demo_tokens(db_url: str, state_dir: Path) -> dict[tuple[str, str], str]:
    """The demo tokens: made once, kept in the state folder, re-stored at every start."""
    path = state_dir / "demo-tokens.json"
    kept: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    conn = await asyncpg.connect(db_url)
    try:
        tokens: dict[tuple[str, str], str] = {}
        for role, subject in PEOPLE:
            name = f"{role}:{subject}"
            _, tokens[role, subject] = await create_token(conn, role, subject, kept.get(name))
            kept[name] = tokens[role, subject]
            # An address per demo subject, to sign in to the web interface by e-mailed link
            # (under `make run` the links arrive in .state/mail and in the terminal): confirmed
            # already, as the operator who starts the demo owns them all.
            await contacts.add_confirmed(conn, role, subject, [demo_address(subject)])
    finally:
        await conn.close()
    path.write_text(json.dumps(kept, indent=2))
    path.chmod(0o600)
    return tokens


def demo_address(subject: str) -> str:
    # `.example` (RFC 2606), not `.test`: an address on a special-use name is not an address.
    return f"{subject}@demo.coopflow.example"


def seed(api: str, tokens: dict[tuple[str, str], str]) -> list[str]:
    """Through the API, as each role would; what exists already is left as it is. Returns
    what was done, for the start-up log."""
    done: list[str] = []

    def call(role: str, subject: str, method: str, path: str, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[role, subject]}"}
        return httpx.request(method, f"{api}{path}", json=body, headers=headers, timeout=60)

    for funder, spec in PROGRAMMES.items():
        if call("funder", funder, "POST", "/v1/programmes", spec).status_code == 201:
            done.append(f"programme {spec['id']}")
    for body in COOPERATIONS:
        if call("facilitator", FACILITATOR, "POST", "/v1/cooperations", body).status_code == 201:
            done.append(f"cooperation {body['id']}")
    decisions = [
        (FUNDERS[0], COLLECTIVE, "fondation-territoires-2027"),
        (FUNDERS[1], COLLECTIVE, "region-cooperations"),
        (FUNDERS[2], TIERS_LIEU, "capital-patient"),
    ]
    for funder, cooperation, programme in decisions:
        path = f"/v1/cooperations/{cooperation}/funding-lines/{programme}/decision"
        if call("funder", funder, "POST", path, {"accept": True}).status_code == 200:
            done.append(f"line {programme} of {cooperation} accepted")
    approval = {"line": "capital-patient", "tranche": "pret"}
    path = f"/v1/cooperations/{TIERS_LIEU}/approvals"
    if call("funder", FUNDERS[2], "POST", path, approval).status_code == 200:
        done.append(f"loan of {TIERS_LIEU} approved and disbursed")
    return done


def run_demo(
    api: str, db_url: str, state_dir: Path
) -> tuple[dict[tuple[str, str], str], list[str]]:
    tokens = asyncio.run(demo_tokens(db_url, state_dir))
    return tokens, seed(api, tokens)
