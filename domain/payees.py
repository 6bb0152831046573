"""Who a funding line pays, as a funder about to accept it must see it (rule 10's allocation,
rule 15: the funder's acceptance covers the payee).

Money only ever goes to the fiscal host or to a member that is a legal entity
(`domain.cooperation.allowed_payees`), so a payee's name, when one is known, is an
organisation's: the caller passes the names it may show, none is kept here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

PayeeKind = Literal["fiscal_host", "member"]


@dataclass(frozen=True)
class Payee:
    payee: str
    share: Decimal
    kind: PayeeKind
    name: str | None = None


def payees(
    allocation: Iterable[Mapping[str, Any]],
    fiscal_host: str | None,
    names: Mapping[str, str] | None = None,
) -> list[Payee]:
    """An allocation as recorded in a line's events (`[{payee, share}]`, shares as text), in
    its order: the fiscal host named as such, any other payee a member."""
    names = names or {}
    return [
        Payee(
            payee=str(part["payee"]),
            share=Decimal(str(part["share"])),
            kind="fiscal_host" if part["payee"] == fiscal_host else "member",
            name=names.get(str(part["payee"])),
        )
        for part in allocation
    ]


def facilitator_is_payee(shown: Iterable[Payee], facilitator: str | None) -> bool:
    """The facilitator proposing the line would be paid by it (as fiscal host, say): the
    funder's acceptance is then the only check on it (rule 3 keeps its approvals to the
    funder)."""
    return facilitator is not None and any(p.payee == facilitator for p in shown)


@dataclass(frozen=True)
class Parties:
    """Who a cooperation's lines may pay and who proposes them, as the read model knows."""

    facilitator: str | None = None
    fiscal_host: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    """Organisations' names by member id (legal entities only)."""
